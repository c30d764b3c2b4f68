use clap::Parser;

fn main() {
    callscope::interrupt::install();
    let cli = callscope::cli::Cli::parse();
    let code = match callscope::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            anstream::eprintln!(
                "callscope: {} {e}",
                callscope::style::paint(callscope::style::ERROR, "error:")
            );
            callscope::exit::for_error(&e)
        }
    };
    std::process::exit(code);
}
