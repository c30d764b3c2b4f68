use clap::Parser;

fn main() {
    callscope::interrupt::install();
    let cli = callscope::cli::Cli::parse();
    let code = match callscope::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("callscope: error: {e}");
            callscope::exit::for_error(&e)
        }
    };
    std::process::exit(code);
}
