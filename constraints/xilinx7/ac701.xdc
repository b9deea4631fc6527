# vireo on the Xilinx AC701 evaluation board (XC7A200T-2FBG676C, PCIe x4 edge
# connector, Gen2), with the 7-series Integrated Block for PCI Express.
#
# Pins: AC701 board files (XilinxBoardStore boards/Xilinx/ac701, part0_pins.xml)
# and UG952 (AC701 Evaluation Board User Guide); package pin functions from the
# XC7A200T FBG676 package file. Lane 0 of the edge connector is quad 216
# channel 3.

set_property CFGBVS VCCO [current_design]
set_property CONFIG_VOLTAGE 3.3 [current_design]
set_property BITSTREAM.GENERAL.COMPRESS true [current_design]

# PCIe reference clock, 100 MHz from the edge connector: MGTREFCLK0 of quad 216.
set_property PACKAGE_PIN F11 [get_ports pcie_refclk_p]
set_property PACKAGE_PIN E11 [get_ports pcie_refclk_n]
create_clock -name pcie_refclk -period 10.000 [get_ports pcie_refclk_p]

# PERST# (active low), bank 14 (3.3 V).
set_property PACKAGE_PIN M20 [get_ports pcie_perst_n]
set_property IOSTANDARD LVCMOS33 [get_ports pcie_perst_n]
set_property PULLUP true [get_ports pcie_perst_n]
set_false_path -from [get_ports pcie_perst_n]

# Lanes 0-3 (receive / transmit pairs). The GTP channels are placed by the
# LOCs below; the package pins follow from them and are listed for reference:
#   lane 0: rx D12/C12 tx D10/C10   lane 1: rx B13/A13 tx B9/A9
#   lane 2: rx D14/C14 tx D8/C8     lane 3: rx B11/A11 tx B7/A7
set_property LOC GTPE2_CHANNEL_X0Y7 [get_cells -hierarchical -filter {NAME =~ *pipe_lane[0].gt_wrapper_i/gtp_channel.gtpe2_channel_i}]
set_property LOC GTPE2_CHANNEL_X0Y6 [get_cells -hierarchical -filter {NAME =~ *pipe_lane[1].gt_wrapper_i/gtp_channel.gtpe2_channel_i}]
set_property LOC GTPE2_CHANNEL_X0Y5 [get_cells -hierarchical -filter {NAME =~ *pipe_lane[2].gt_wrapper_i/gtp_channel.gtpe2_channel_i}]
set_property LOC GTPE2_CHANNEL_X0Y4 [get_cells -hierarchical -filter {NAME =~ *pipe_lane[3].gt_wrapper_i/gtp_channel.gtpe2_channel_i}]
set_property LOC IBUFDS_GTE2_X0Y2 [get_cells refclk_buf]

# Status LEDs DS2-DS5 (bank 14).
set_property PACKAGE_PIN M26 [get_ports {led[0]}]
set_property PACKAGE_PIN T24 [get_ports {led[1]}]
set_property PACKAGE_PIN T25 [get_ports {led[2]}]
set_property PACKAGE_PIN R26 [get_ports {led[3]}]
set_property IOSTANDARD LVCMOS33 [get_ports {led[*]}]
set_false_path -to [get_ports {led[*]}]

# The user clock (user_clk_out, 125 MHz for Gen2 x4 with the 128-bit
# interface) is generated and constrained by the hard block's clocking; the
# endpoint runs entirely in it. user_reset_out is synchronous to it.
