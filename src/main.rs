//! The `vitrine` command line: one binary for building, checking, serving and
//! moderating a site. It only parses arguments, calls the libraries and prints
//! their results; every error's chain is printed once, here.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "vitrine", version, about = "Portail statique et modération pour les réseaux d'écoles")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the site into public/ (or --out).
    Build {
        #[arg(long, default_value = ".")]
        site: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Include entries marked `draft: true`.
        #[arg(long)]
        drafts: bool,
    },
    /// Validate everything and check internal links; writes nothing.
    Check {
        #[arg(long, default_value = ".")]
        site: PathBuf,
        #[arg(long)]
        drafts: bool,
    },
    /// Create a new entry of a collection, filled from its schema.
    New {
        collection: String,
        title: String,
        #[arg(long, default_value = ".")]
        site: PathBuf,
    },
}

fn print_error(e: &dyn std::error::Error) {
    eprintln!("erreur : {e}");
    let mut source = e.source();
    while let Some(s) = source {
        eprintln!("  cause : {s}");
        source = s.source();
    }
}

fn print_warnings(w: &[vitrine_generator::Diagnostic]) {
    for d in w {
        eprintln!("avertissement : {d}");
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result: Result<(), Box<dyn std::error::Error>> = match cli.command {
        Command::Build { site, out, drafts } => {
            let mut opts = vitrine_generator::BuildOptions::new(&site);
            if let Some(out) = out {
                opts.out = out;
            }
            opts.drafts = drafts;
            vitrine_generator::build(&opts)
                .map(|r| {
                    print_warnings(&r.warnings);
                    println!("{r}");
                })
                .map_err(Into::into)
        }
        Command::Check { site, drafts } => {
            let mut opts = vitrine_generator::BuildOptions::new(&site);
            opts.drafts = drafts;
            vitrine_generator::check::check(&opts)
                .map(|r| {
                    print_warnings(&r.warnings);
                    println!("{r}");
                })
                .map_err(Into::into)
        }
        Command::New { collection, title, site } => vitrine_generator::scaffold::new_entry(&site, &collection, &title)
            .map(|p| println!("{}", p.display()))
            .map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_error(e.as_ref());
            ExitCode::FAILURE
        }
    }
}
