//! `approval-gate`: Decide promotions: metric gates against the production model, and recorded approvals.
//!
//! Not built yet: this binary only explains what is coming, so that templates and
//! scripts can already refer to it. It does nothing else, and says so.

/// Decide promotions: metric gates against the production model, and recorded approvals
///
/// Not available yet. Coming: `approval-gate check --candidate REF --champion REF --rule EXPR`
/// (for example `candidate.rmse <= champion.rmse * 1.02`), and manual approvals with
/// `approval-gate request | approve | reject | wait | history`, every decision recorded on the
/// model version.
#[derive(clap::Parser)]
#[command(name = "approval-gate", version, arg_required_else_help = true, max_term_width = 100)]
struct Cli {}

fn main() {
    // With no arguments clap prints this help and exits 2: nothing can run yet.
    let _ = <Cli as clap::Parser>::parse();
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
