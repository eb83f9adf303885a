//! The `vitrine` command line: one binary for building, checking, serving and
//! moderating a site. It only parses arguments, calls the libraries and prints
//! their results; every error's chain is printed once, here.

mod serve;

// Builds allocate many small strings and maps in parallel; mimalloc cuts the
// time spent in the allocator by about half compared with glibc's (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "vitrine", version, about = "Portail statique et modération pour les réseaux d'écoles")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The daemon's limits on the public forms (defaults: 20 submissions a minute
/// per address, forms sent no sooner than 3 s after they were shown).
#[derive(clap::Args, Clone, Copy)]
struct Limits {
    /// Submissions a minute per client address on the public forms and API (0: no limit).
    #[arg(long, value_name = "N")]
    rate_limit: Option<u32>,
    /// Seconds a form must have been open before it is accepted (spam bots send at once).
    #[arg(long, value_name = "SECONDES")]
    min_fill_secs: Option<u32>,
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
    /// Build, then serve the site, its forms and moderation pages on one port,
    /// rebuilding incrementally and reloading browsers when files change.
    Serve {
        #[arg(long, default_value = ".")]
        site: PathBuf,
        /// Address to listen on (default: daemon.listen of vitrine.yaml, or 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        drafts: bool,
        #[command(flatten)]
        limits: Limits,
    },
    /// Production mode: the daemon's routes and the file watcher, with nginx serving public/.
    Daemon {
        #[arg(long, default_value = ".")]
        site: PathBuf,
        #[arg(long)]
        listen: Option<String>,
        #[command(flatten)]
        limits: Limits,
    },
    /// Manage moderator accounts (the password is read from standard input).
    User {
        #[command(subcommand)]
        action: UserAction,
        #[arg(long, default_value = ".", global = true)]
        site: PathBuf,
    },
    /// Sauvegarde la file de soumissions (copie cohérente, même démon en marche),
    /// le secret, la boîte d'envoi et les sources du site dans DOSSIER.
    Backup {
        /// Dossier de la sauvegarde (nouveau ou vide).
        #[arg(value_name = "DOSSIER")]
        dir: PathBuf,
        /// Dossier du site.
        #[arg(long, default_value = ".", value_name = "DOSSIER")]
        site: PathBuf,
    },
    /// Restaure une sauvegarde dans un site neuf ou vide (arrêtez le démon avant).
    Restore {
        /// Dossier de la sauvegarde (écrit par `vitrine backup`).
        #[arg(value_name = "DOSSIER")]
        dir: PathBuf,
        /// Dossier du site à restaurer (créé au besoin).
        #[arg(long, value_name = "DOSSIER")]
        site: PathBuf,
        /// Remplace la file de soumissions et les fichiers déjà présents.
        #[arg(long)]
        force: bool,
    },
    /// Données personnelles des auteurs (RGPD) : export et effacement.
    Privacy {
        #[command(subcommand)]
        action: PrivacyAction,
        /// Dossier du site.
        #[arg(long, default_value = ".", global = true, value_name = "DOSSIER")]
        site: PathBuf,
    },
    /// Create a new entry of a collection, filled from its schema.
    New {
        collection: String,
        title: String,
        #[arg(long, default_value = ".")]
        site: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Add an account.
    Add {
        username: String,
        /// moderator or admin
        #[arg(long, default_value = "moderator")]
        role: String,
    },
    /// Change an account's password.
    Passwd { username: String },
    /// Remove an account.
    Remove { username: String },
}

#[derive(Subcommand)]
enum PrivacyAction {
    /// Affiche en JSON tout ce que le site garde sur cette adresse (soumissions, journal, courriels).
    Export {
        /// Adresse électronique de l'auteur.
        #[arg(value_name = "COURRIEL")]
        email: String,
    },
    /// Efface le nom, l'adresse et les courriels de cet auteur (le contenu publié et le journal restent).
    Purge {
        /// Adresse électronique de l'auteur.
        #[arg(value_name = "COURRIEL")]
        email: String,
    },
}

fn privacy(site: &std::path::Path, action: PrivacyAction) -> Result<(), Box<dyn std::error::Error>> {
    use vitrine_daemon::privacy;
    match action {
        PrivacyAction::Export { email } => {
            let v = privacy::export(site, &email)?;
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        PrivacyAction::Purge { email } => {
            let r = privacy::purge(site, &email)?;
            println!(
                "{} soumission(s) et {} courriel(s) : données personnelles de {} effacées",
                r.submissions.len(),
                r.mails_removed.len(),
                email.trim()
            );
        }
    }
    Ok(())
}

fn user(site: &std::path::Path, action: UserAction) -> Result<(), Box<dyn std::error::Error>> {
    use vitrine_daemon::auth;
    match action {
        UserAction::Add { username, role } => {
            let role = auth::Role::parse(&role).ok_or("rôle inconnu : moderator ou admin")?;
            auth::cli_add(site, &username, role, &auth::read_password()?)?;
            println!("compte « {username} » créé");
        }
        UserAction::Passwd { username } => {
            auth::cli_passwd(site, &username, &auth::read_password()?)?;
            println!("mot de passe de « {username} » changé");
        }
        UserAction::Remove { username } => {
            auth::cli_remove(site, &username)?;
            println!("compte « {username} » supprimé");
        }
    }
    Ok(())
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
        Command::Serve { site, listen, drafts, limits } => serve::run(serve::ServeOptions {
            site,
            listen,
            drafts,
            static_site: true,
            rate_limit: limits.rate_limit,
            min_fill_secs: limits.min_fill_secs,
        }),
        Command::Daemon { site, listen, limits } => serve::run(serve::ServeOptions {
            site,
            listen,
            drafts: false,
            static_site: false,
            rate_limit: limits.rate_limit,
            min_fill_secs: limits.min_fill_secs,
        }),
        Command::User { action, site } => user(&site, action),
        Command::Privacy { action, site } => privacy(&site, action),
        Command::Backup { dir, site } => vitrine_daemon::backup::backup(&site, &dir)
            .map(|s| println!("sauvegarde écrite dans {} : {} soumission(s), {} fichier(s)", dir.display(), s.submissions, s.files))
            .map_err(Into::into),
        Command::Restore { dir, site, force } => vitrine_daemon::backup::restore(&dir, &site, force)
            .map(|s| {
                println!("sauvegarde restaurée dans {} : {} soumission(s), {} fichier(s)", site.display(), s.submissions, s.files);
                eprintln!("Reconstruisez le site (vitrine build) avant de lancer le démon.");
            })
            .map_err(Into::into),
        Command::New { collection, title, site } => vitrine_generator::scaffold::new_entry(&site, &collection, &title)
            .map(|p| {
                println!("{}", p.display());
                eprintln!(
                    "Brouillon créé (draft: true) : il n'est pas publié. Pour le voir : vitrine serve --drafts ; pour le publier : complétez-le puis retirez la ligne « draft: true »."
                );
            })
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
