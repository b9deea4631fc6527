// Board top for vireo on the Xilinx AC701: the 7-series PCIe hard block
// (pcie_7x_0, created by vivado_ac701.tcl) and the generated endpoint behind
// its 7-series adapter (module `top` of `vireo gen --top s7`).
//
// The endpoint runs in the hard block's user clock and reset. It answers
// the hard block's user configuration space (CfgRd/CfgWr forwarded on the
// AXI4-Stream) and sends MSI-X messages as memory writes; legacy INTx is not
// wired (Legacy_Interrupt NONE). LEDs: link up, user reset, MSI-X enabled,
// a heartbeat of the user clock.

`default_nettype none

module vireo_ac701 (
    input  wire       pcie_refclk_p,
    input  wire       pcie_refclk_n,
    input  wire       pcie_perst_n,
    input  wire [3:0] pci_exp_rxp,
    input  wire [3:0] pci_exp_rxn,
    output wire [3:0] pci_exp_txp,
    output wire [3:0] pci_exp_txn,
    output wire [3:0] led
);
    wire refclk;
    IBUFDS_GTE2 refclk_buf (
        .I(pcie_refclk_p), .IB(pcie_refclk_n), .CEB(1'b0), .O(refclk), .ODIV2()
    );

    wire         user_clk, user_reset, user_lnk_up;
    wire [127:0] rx_tdata, tx_tdata;
    wire [21:0]  rx_tuser;
    wire [15:0]  tx_tkeep;
    wire [3:0]   tx_tuser;
    wire         rx_tvalid, rx_tready, tx_tlast, tx_tvalid, tx_tready;
    wire         rx_np_ok, rx_np_req, tx_cfg_gnt, msix_enable;

    pcie_7x_0 pcie (
        .pci_exp_txp(pci_exp_txp), .pci_exp_txn(pci_exp_txn),
        .pci_exp_rxp(pci_exp_rxp), .pci_exp_rxn(pci_exp_rxn),
        .sys_clk(refclk), .sys_rst_n(pcie_perst_n),
        .user_clk_out(user_clk), .user_reset_out(user_reset), .user_lnk_up(user_lnk_up),
        .user_app_rdy(),
        .m_axis_rx_tdata(rx_tdata), .m_axis_rx_tkeep(), .m_axis_rx_tlast(),
        .m_axis_rx_tvalid(rx_tvalid), .m_axis_rx_tready(rx_tready), .m_axis_rx_tuser(rx_tuser),
        .rx_np_ok(rx_np_ok), .rx_np_req(rx_np_req),
        .s_axis_tx_tdata(tx_tdata), .s_axis_tx_tkeep(tx_tkeep), .s_axis_tx_tlast(tx_tlast),
        .s_axis_tx_tvalid(tx_tvalid), .s_axis_tx_tready(tx_tready), .s_axis_tx_tuser(tx_tuser),
        .tx_cfg_gnt(tx_cfg_gnt), .tx_cfg_req(), .tx_buf_av(), .tx_err_drop(),
        .cfg_interrupt(1'b0), .cfg_interrupt_assert(1'b0), .cfg_interrupt_di(8'h00),
        .cfg_interrupt_stat(1'b0), .cfg_pciecap_interrupt_msgnum(5'd0),
        .cfg_interrupt_rdy(), .cfg_interrupt_do(), .cfg_interrupt_mmenable(),
        .cfg_interrupt_msienable(), .cfg_interrupt_msixenable(msix_enable),
        .cfg_interrupt_msixfm(),
        .cfg_turnoff_ok(1'b0), .cfg_trn_pending(1'b0), .cfg_pm_wake(1'b0),
        .cfg_pm_halt_aspm_l0s(1'b0), .cfg_pm_halt_aspm_l1(1'b0),
        .cfg_pm_force_state_en(1'b0), .cfg_pm_force_state(2'b00),
        .cfg_dsn(64'h0), .cfg_err_cor(1'b0), .cfg_err_ur(1'b0), .cfg_err_ecrc(1'b0),
        .cfg_err_cpl_timeout(1'b0), .cfg_err_cpl_abort(1'b0), .cfg_err_cpl_unexpect(1'b0),
        .cfg_err_posted(1'b0), .cfg_err_locked(1'b0), .cfg_err_tlp_cpl_header(48'h0),
        .cfg_err_atomic_egress_blocked(1'b0), .cfg_err_internal_cor(1'b0),
        .cfg_err_malformed(1'b0), .cfg_err_mc_blocked(1'b0), .cfg_err_poisoned(1'b0),
        .cfg_err_norecovery(1'b0), .cfg_err_acs(1'b0), .cfg_err_internal_uncor(1'b0),
        .cfg_err_aer_headerlog(128'h0), .cfg_aer_interrupt_msgnum(5'd0),
        .cfg_ds_bus_number(8'h00), .cfg_ds_device_number(5'd0), .cfg_ds_function_number(3'd0),
        .pl_directed_link_change(2'b00), .pl_directed_link_width(2'b00),
        .pl_directed_link_speed(1'b0), .pl_directed_link_auton(1'b0),
        .pl_upstream_prefer_deemph(1'b1), .pl_transmit_hot_rst(1'b0),
        .pl_downstream_deemph_source(1'b0)
    );

    top vireo (
        .clk(user_clk), .rst(user_reset),
        .m_axis_rx_tdata(rx_tdata), .m_axis_rx_tuser(rx_tuser),
        .m_axis_rx_tvalid(rx_tvalid), .m_axis_rx_tready(rx_tready),
        .s_axis_tx_tdata(tx_tdata), .s_axis_tx_tkeep(tx_tkeep), .s_axis_tx_tlast(tx_tlast),
        .s_axis_tx_tuser(tx_tuser), .s_axis_tx_tvalid(tx_tvalid), .s_axis_tx_tready(tx_tready),
        .rx_np_ok(rx_np_ok), .rx_np_req(rx_np_req), .tx_cfg_gnt(tx_cfg_gnt),
        .intx(), .link_up(user_lnk_up)
    );

    reg [26:0] beat = 27'd0;
    always @(posedge user_clk) beat <= beat + 27'd1;
    assign led = {beat[26], msix_enable, user_reset, user_lnk_up};
endmodule

`default_nettype wire
