# Vivado project for vireo on the Xilinx AC701 (XC7A200T-2FBG676C): the
# 7-series Integrated Block for PCI Express (pcie_7x, Gen2 x4, 128-bit
# AXI4-Stream at 125 MHz) configured to match the endpoint, the generated
# endpoint behind its 7-series adapter, the board wrapper and constraints.
#
# Usage (from the repository root):
#   cargo run --release --bin vireo -- gen --top s7 -o build/vireo_s7.v --tcl build/vireo_pcie.tcl
#   vivado -mode batch -source constraints/xilinx7/vivado_ac701.tcl -tclargs build
# Add `synth` or `bitstream` after the directory to also run synthesis, or
# implementation and bitstream generation.

if {[llength $argv] < 1} {
    puts "usage: vivado -mode batch -source vivado_ac701.tcl -tclargs BUILD_DIR \[synth|bitstream\]"
    exit 1
}
set build [file normalize [lindex $argv 0]]
set step [expr {[llength $argv] > 1 ? [lindex $argv 1] : "project"}]
set here [file dirname [file normalize [info script]]]
foreach f {vireo_s7.v vireo_pcie.tcl} {
    if {![file exists $build/$f]} {
        puts "missing $build/$f: run `vireo gen --top s7 -o $build/vireo_s7.v --tcl $build/vireo_pcie.tcl` first"
        exit 1
    }
}
source $build/vireo_pcie.tcl

create_project vireo_ac701 $build/vivado_ac701 -part xc7a200tfbg676-2 -force

# The hard block: link and user interface, then the header vireo describes.
create_ip -name pcie_7x -vendor xilinx.com -library ip -module_name pcie_7x_0
set props [list \
    CONFIG.mode_selection Advanced \
    CONFIG.Device_Port_Type PCI_Express_Endpoint_device \
    CONFIG.Maximum_Link_Width X4 \
    CONFIG.Link_Speed 5.0_GT/s \
    CONFIG.Trgt_Link_Speed 4'h2 \
    CONFIG.Interface_Width 128_bit \
    CONFIG.User_Clk_Freq 125 \
    CONFIG.Ref_Clk_Freq 100_MHz \
    CONFIG.Buf_Opt_BMA true]
dict for {k v} $vireo_pcie {
    lappend props CONFIG.$k $v
}
set_property -dict $props [get_ips pcie_7x_0]
generate_target all [get_ips pcie_7x_0]

add_files -norecurse [list $build/vireo_s7.v $here/vireo_ac701.v]
add_files -fileset constrs_1 -norecurse $here/ac701.xdc
set_property top vireo_ac701 [current_fileset]

if {$step eq "synth" || $step eq "bitstream"} {
    launch_runs synth_1 -jobs 4
    wait_on_run synth_1
    open_run synth_1
    report_utilization -file $build/ac701_utilization_synth.txt
}
if {$step eq "bitstream"} {
    launch_runs impl_1 -to_step write_bitstream -jobs 4
    wait_on_run impl_1
    open_run impl_1
    report_utilization -file $build/ac701_utilization.txt
    report_timing_summary -file $build/ac701_timing.txt
}
