//! Line charts of the benchmark, each written as PNG and SVG (plotters).
//!
//! Labels are drawn with a TrueType font of the system (DejaVu Sans or
//! Liberation Sans), loaded once at run time.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Fonts tried for the labels, in order.
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// One line of a chart.
pub struct Series {
    /// Legend text.
    pub label: String,
    /// (x, y) in data units.
    pub points: Vec<(f64, f64)>,
}

/// How an axis maps its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear from 0.
    Linear,
    /// Logarithmic, ticks at powers of two (sizes, counts).
    Log2,
    /// Logarithmic, ticks at powers of ten (rates).
    Log10,
}

impl Scale {
    fn to_axis(self, v: f64) -> f64 {
        match self {
            Scale::Linear => v,
            Scale::Log2 => v.max(1e-12).log2(),
            Scale::Log10 => v.max(1e-12).log10(),
        }
    }

    /// The tick label at axis position `a` (empty between the ticks of a
    /// logarithmic axis).
    fn label(self, a: f64) -> String {
        let whole = (a - a.round()).abs() < 1e-6;
        match self {
            Scale::Linear => format!("{a}"),
            Scale::Log2 if whole => si(2f64.powi(a.round() as i32), 1024.0),
            Scale::Log10 if whole => si(10f64.powi(a.round() as i32), 1000.0),
            _ => String::new(),
        }
    }
}

/// `v` with a k/M/G suffix in steps of `step`.
fn si(v: f64, step: f64) -> String {
    let mut v = v;
    for suffix in ["", "k", "M", "G"] {
        if v < step {
            return format!("{}{suffix}", (v * 100.0).round() / 100.0);
        }
        v /= step;
    }
    format!("{v}T")
}

/// A chart: lines, and horizontal reference lines (limits, goals).
pub struct Chart {
    /// File name without extension.
    pub name: &'static str,
    /// Caption.
    pub title: String,
    /// X axis description and scale.
    pub x: (&'static str, Scale),
    /// Y axis description and scale.
    pub y: (&'static str, Scale),
    /// The data.
    pub series: Vec<Series>,
    /// Horizontal lines: label and y value.
    pub marks: Vec<(String, f64)>,
    /// Where the legend goes.
    pub legend: SeriesLabelPosition,
}

/// Load a label font once; the error names the package that provides one.
fn font() -> Result<(), String> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = FONTS.iter().find(|p| Path::new(p).exists()).ok_or_else(|| {
                "no TrueType font for the plot labels: install one with `sudo apt-get install fonts-dejavu-core`".to_string()
            })?;
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            register_font("sans-serif", FontStyle::Normal, Box::leak(bytes.into_boxed_slice()))
                .map_err(|_| format!("{path} is not a usable TrueType font"))
        })
        .clone()
}

fn range(values: impl Iterator<Item = f64>, scale: Scale) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    let (lo, hi) = if lo > hi { (0.0, 1.0) } else { (lo, hi) };
    match scale {
        Scale::Linear => 0.0..(hi * 1.08).max(1e-9),
        _ => (lo.floor() - 0.1)..(hi.ceil() + 0.1),
    }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, c: &Chart) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let (xs, ys) = (c.x.1, c.y.1);
    let data = || c.series.iter().flat_map(|s| s.points.iter());
    let xr = range(data().map(|p| xs.to_axis(p.0)), xs);
    let yr = range(
        data()
            .map(|p| ys.to_axis(p.1))
            .chain(c.marks.iter().map(|m| ys.to_axis(m.1))),
        ys,
    );
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&c.title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(xr.clone(), yr.clone())
        .map_err(err)?;
    let ticks = |r: &std::ops::Range<f64>, s: Scale| match s {
        Scale::Linear => 10,
        _ => (r.end - r.start).ceil() as usize + 1,
    };
    chart
        .configure_mesh()
        .x_desc(c.x.0)
        .y_desc(c.y.0)
        .x_labels(ticks(&xr, xs))
        .y_labels(ticks(&yr, ys))
        .x_label_formatter(&|a| xs.label(*a))
        .y_label_formatter(&|a| ys.label(*a))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    for (i, (label, y)) in c.marks.iter().enumerate() {
        let color = [BLACK, RGBColor(120, 120, 120)][i % 2];
        let y = ys.to_axis(*y);
        chart
            .draw_series(LineSeries::new(
                [(xr.start, y), (xr.end, y)],
                color.stroke_width(1),
            ))
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
    }
    for (i, s) in c.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(x, y)| (xs.to_axis(x), ys.to_axis(y)))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(s.label.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(c.legend.clone())
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Write `c` as `dir/NAME.png` and `dir/NAME.svg`; returns both paths.
pub fn write(dir: &Path, c: &Chart) -> Result<[PathBuf; 2], String> {
    font()?;
    let png = dir.join(format!("{}.png", c.name));
    let svg = dir.join(format!("{}.svg", c.name));
    let size = (960, 600);
    draw(BitMapBackend::new(&png, size).into_drawing_area(), c)
        .map_err(|e| format!("{}: {e}", png.display()))?;
    draw(SVGBackend::new(&svg, size).into_drawing_area(), c)
        .map_err(|e| format!("{}: {e}", svg.display()))?;
    Ok([png, svg])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logarithmic_ticks_are_labelled_at_whole_powers_only() {
        assert_eq!(Scale::Log2.label(6.0), "64");
        assert_eq!(Scale::Log2.label(10.0), "1k");
        assert_eq!(Scale::Log2.label(16.0), "64k");
        assert_eq!(Scale::Log2.label(6.5), "");
        assert_eq!(Scale::Log10.label(6.0), "1M");
        assert_eq!(Scale::Linear.label(2.5), "2.5");
    }
}
