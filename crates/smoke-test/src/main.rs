//! `smoke-test`: Prove an endpoint works: cases, latency budgets, load, JUnit reports.
//!
//! Not built yet: this binary only explains what is coming, so that templates and
//! scripts can already refer to it. It does nothing else, and says so.

/// Prove an endpoint works: cases, latency budgets, load, JUnit reports
///
/// Not available yet. Coming: `smoke-test run --endpoint NAME --cases FILE [--concurrency N
/// --duration D --p95 MS] [--junit FILE]` and `smoke-test profile` to find the load one
/// instance holds within a latency budget.
#[derive(clap::Parser)]
#[command(name = "smoke-test", version, arg_required_else_help = true, max_term_width = 100)]
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
