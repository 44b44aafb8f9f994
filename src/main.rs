//! The `leither` binary: glue only. Everything lives in the library (`leither::cli`).

fn main() {
    std::process::exit(leither::cli::main());
}
