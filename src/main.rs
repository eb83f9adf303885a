//! The `vitrine` command line: one binary for building, checking, serving and
//! moderating a site. It only parses arguments, calls the libraries and prints
//! their results; every error's chain is printed once, here.

mod init;
mod serve;

// Builds allocate many small strings and maps in parallel; mimalloc cuts the
// time spent in the allocator by about half compared with glibc's (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "vitrine",
    version,
    about = "Portail statique et modération pour les réseaux d'écoles",
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true,
    subcommand_help_heading = "Commandes",
    after_help = AFTER_HELP
)]
struct Cli {
    /// Affiche l'aide.
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help, global = true)]
    help: Option<bool>,
    /// Affiche la version.
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,
    #[command(subcommand)]
    command: Command,
}

/// The daemon's limits on the public forms (defaults: 20 submissions a minute
/// per address, forms sent no sooner than 3 s after they were shown).
#[derive(clap::Args, Clone, Copy)]
struct Limits {
    /// Soumissions par minute et par client sur les formulaires publics et l'API (0 : sans limite ; 20 par défaut).
    #[arg(long, value_name = "N")]
    rate_limit: Option<u32>,
    /// Secondes pendant lesquelles un formulaire doit rester ouvert avant d'être accepté (3 par défaut).
    #[arg(long, value_name = "SECONDES")]
    min_fill_secs: Option<u32>,
}

#[derive(Subcommand)]
enum Command {
    /// Construit le site dans public/ (ou --out).
    Build {
        /// Dossier du site.
        #[arg(long, default_value = ".", value_name = "DOSSIER")]
        site: PathBuf,
        /// Dossier de sortie (public/ du site par défaut).
        #[arg(long, value_name = "DOSSIER")]
        out: Option<PathBuf>,
        /// Inclut les brouillons (`draft: true`).
        #[arg(long)]
        drafts: bool,
    },
    /// Valide tout et vérifie les liens internes ; n'écrit rien.
    Check {
        /// Dossier du site.
        #[arg(long, default_value = ".", value_name = "DOSSIER")]
        site: PathBuf,
        /// Inclut les brouillons (`draft: true`).
        #[arg(long)]
        drafts: bool,
    },
    /// Construit puis sert le site, ses formulaires et la modération sur un seul port,
    /// avec reconstruction incrémentale et rechargement des pages ouvertes.
    Serve {
        /// Dossier du site.
        #[arg(long, default_value = ".", value_name = "DOSSIER")]
        site: PathBuf,
        /// Adresse d'écoute (par défaut daemon.listen de vitrine.yaml, sinon 127.0.0.1:8080).
        #[arg(long, value_name = "ADRESSE")]
        listen: Option<String>,
        /// Inclut les brouillons (`draft: true`).
        #[arg(long)]
        drafts: bool,
        #[command(flatten)]
        limits: Limits,
    },
    /// Production : le démon (formulaires, modération, publication) et la surveillance
    /// des fichiers ; nginx sert public/.
    Daemon {
        /// Dossier du site.
        #[arg(long, default_value = ".", value_name = "DOSSIER")]
        site: PathBuf,
        /// Adresse d'écoute (par défaut daemon.listen de vitrine.yaml, sinon 127.0.0.1:8080).
        #[arg(long, value_name = "ADRESSE")]
        listen: Option<String>,
        #[command(flatten)]
        limits: Limits,
    },
    /// Gère les comptes de modération (mot de passe lu dans VITRINE_PASSWORD, sinon tapé deux fois
    /// sans écho au terminal, ou une ligne de l'entrée standard).
    User {
        #[command(subcommand)]
        action: UserAction,
        /// Dossier du site.
        #[arg(long, default_value = ".", global = true, value_name = "DOSSIER")]
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
    /// Crée un nouveau site prêt à construire (configuration, pages, thème par défaut).
    Init {
        /// Dossier du nouveau site (créé au besoin ; doit être vide).
        #[arg(default_value = ".", value_name = "DOSSIER")]
        dir: PathBuf,
    },
    /// Écrit sur la sortie standard le script de complétion pour un shell
    /// (par ex. `vitrine completions bash > /etc/bash_completion.d/vitrine`).
    Completions {
        /// Le shell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Écrit sur la sortie standard le schéma JSON de vitrine.yaml, pour les éditeurs :
    /// `vitrine schema > vitrine.schema.json`.
    Schema,
    /// Écrit sur la sortie standard la page de manuel (roff) : `vitrine man > vitrine.1`.
    Man,
    /// Crée un brouillon dans une collection, rempli d'après son schéma.
    New {
        /// Nom de la collection (dans vitrine.yaml).
        #[arg(value_name = "COLLECTION")]
        collection: String,
        /// Titre de l'entrée.
        #[arg(value_name = "TITRE")]
        title: String,
        /// Dossier du site.
        #[arg(long, default_value = ".", value_name = "DOSSIER")]
        site: PathBuf,
    },
}

/// Text after the top-level help: the environment.
const AFTER_HELP: &str = "Environnement :\n  RUST_LOG          niveau du journal sur la sortie d'erreur : error, warn, info (défaut), debug, trace ;\n                    par module : RUST_LOG=vitrine_daemon=debug,info\n  NO_COLOR          pas de couleurs (il n'y en a jamais hors d'un terminal)\n  VITRINE_PASSWORD  mot de passe pour « vitrine user add|passwd » (sinon demandé deux fois, sans écho)";

/// Role of a moderation account (`vitrine user add --role`).
#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    /// Relit et décide des propositions.
    Moderator,
    /// Comme moderator, et gère les comptes et les courriels refusés.
    Admin,
}

#[derive(Subcommand)]
enum UserAction {
    /// Liste les comptes (nom et rôle).
    List,
    /// Ajoute un compte.
    Add {
        /// Nom du compte.
        #[arg(value_name = "NOM")]
        username: String,
        /// Rôle du compte.
        #[arg(long, value_enum, default_value_t = RoleArg::Moderator)]
        role: RoleArg,
    },
    /// Change le mot de passe d'un compte.
    Passwd {
        /// Nom du compte.
        #[arg(value_name = "NOM")]
        username: String,
    },
    /// Supprime un compte.
    Remove {
        /// Nom du compte.
        #[arg(value_name = "NOM")]
        username: String,
    },
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
        UserAction::List => {
            let users = auth::cli_list(site)?;
            let width = users.iter().map(|u| u.username.chars().count()).max().unwrap_or(0);
            for u in &users {
                println!("{:<width$}  {}", u.username, u.role.label());
            }
            if users.is_empty() {
                eprintln!("aucun compte (vitrine user add NOM --role admin en crée un)");
            }
        }
        UserAction::Add { username, role } => {
            let role = match role {
                RoleArg::Moderator => auth::Role::Moderator,
                RoleArg::Admin => auth::Role::Admin,
            };
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

/// Prints the error and its causes, each once: a cause whose text a message
/// already printed includes (the same text, or a part of it) is not repeated.
fn print_error(e: &dyn std::error::Error) {
    let mut printed = vec![e.to_string()];
    eprintln!("erreur : {}", printed[0]);
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !text.trim().is_empty() && !printed.iter().any(|p| p.contains(text.trim())) {
            eprintln!("  cause : {text}");
            printed.push(text);
        }
        source = s.source();
    }
}

/// The CLI definition with clap's own words in French, for every command:
/// the headings (« Utilisation », « Commandes », « Arguments », « Options »),
/// the default values and the possible values (written into each option's
/// help instead of clap's `[default: …]` and `[possible values: …]`).
fn command() -> clap::Command {
    french(<Cli as clap::CommandFactory>::command())
}

fn french(cmd: clap::Command) -> clap::Command {
    let has_subcommands = cmd.has_subcommands();
    let has_positionals = cmd.get_positionals().any(|a| !a.is_hide_set());
    let mut template = String::from("{before-help}{about-with-newline}\nUtilisation : {usage}\n");
    if has_subcommands {
        template.push_str("\nCommandes :\n{subcommands}\n");
    }
    if has_positionals {
        template.push_str("\nArguments :\n{positionals}\n");
    }
    template.push_str("\nOptions :\n{options}{after-help}");
    cmd.help_template(template)
        .subcommand_value_name("COMMANDE")
        .subcommand_help_heading("Commandes")
        .mut_args(french_arg)
        .mut_subcommands(french)
}

/// An argument's help with its default and possible values in French.
fn french_arg(a: clap::Arg) -> clap::Arg {
    if a.is_hide_set() || !a.get_action().takes_values() {
        return a;
    }
    let mut extra = Vec::new();
    let values = a.get_possible_values();
    let values: Vec<String> = values
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| match v.get_help() {
            Some(h) => format!("{} — {}", v.get_name(), h.to_string().trim_end_matches('.').to_lowercase()),
            None => v.get_name().to_string(),
        })
        .collect();
    if !values.is_empty() {
        extra.push(format!("valeurs : {}", values.join(", ")));
    }
    let defaults: Vec<String> = a.get_default_values().iter().map(|d| d.to_string_lossy().into_owned()).collect();
    if !defaults.is_empty() {
        extra.push(format!("défaut : {}", defaults.join(", ")));
    }
    if extra.is_empty() {
        return a;
    }
    let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
    let help = format!("{} ({})", help.trim_end_matches('.'), extra.join(" ; "));
    a.help(help).long_help(None).hide_default_value(true).hide_possible_values(true)
}

/// Parses the command line; clap's errors in French (help and version are
/// printed as they are: their text is already French).
fn parse_args() -> Cli {
    use clap::FromArgMatches;
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let mut cmd = command();
    let err = match cmd.try_get_matches_from_mut(std::env::args_os()).and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => return cli,
        Err(e) => e,
    };
    if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand) {
        err.exit();
    }
    let ctx = |k: ContextKind| {
        err.get(k).map(|v| match v {
            ContextValue::String(s) => s.clone(),
            ContextValue::Strings(v) => v.join(", "),
            ContextValue::StyledStr(s) => s.to_string(),
            ContextValue::StyledStrs(v) => v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            ContextValue::Number(n) => n.to_string(),
            other => other.to_string(),
        })
    };
    let arg = ctx(ContextKind::InvalidArg).unwrap_or_default();
    let value = ctx(ContextKind::InvalidValue).unwrap_or_default();
    let mut msg = match err.kind() {
        ErrorKind::InvalidValue if value.is_empty() => format!("{arg} attend une valeur"),
        ErrorKind::InvalidValue => format!("valeur « {value} » invalide pour {arg}"),
        ErrorKind::ValueValidation => format!("valeur « {value} » invalide pour {arg}"),
        ErrorKind::UnknownArgument => format!("argument inattendu « {arg} »"),
        ErrorKind::InvalidSubcommand => format!("commande inconnue « {} »", ctx(ContextKind::InvalidSubcommand).unwrap_or_default()),
        ErrorKind::MissingRequiredArgument => format!("argument obligatoire manquant : {arg}"),
        ErrorKind::MissingSubcommand => "commande manquante".to_string(),
        ErrorKind::ArgumentConflict => format!("{arg} ne peut pas être utilisé avec {}", ctx(ContextKind::PriorArg).unwrap_or_default()),
        ErrorKind::NoEquals => format!("{arg} s'écrit avec un signe égal (« {arg}=VALEUR »)"),
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues | ErrorKind::TooFewValues => {
            format!("nombre de valeurs incorrect pour {arg}")
        }
        _ => format!("ligne de commande invalide ({})", err.kind()),
    };
    if let Some(valid) = ctx(ContextKind::ValidValue) {
        msg.push_str(&format!(" (valeurs possibles : {valid})"));
    }
    if let Some(s) = ctx(ContextKind::SuggestedArg).or_else(|| ctx(ContextKind::SuggestedSubcommand)) {
        msg.push_str(&format!(" ; vouliez-vous dire « {s} » ?"));
    }
    eprintln!("erreur : {msg}\nPour l'aide : vitrine --help (ou vitrine COMMANDE --help)");
    std::process::exit(2);
}

fn print_warnings(w: &[vitrine_generator::Diagnostic]) {
    for d in w {
        eprintln!("avertissement : {d}");
    }
}

fn main() -> ExitCode {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = parse_args();
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
        Command::Completions { shell } => {
            let mut cmd = command();
            clap_complete::generate(shell, &mut cmd, "vitrine", &mut std::io::stdout());
            Ok(())
        }
        Command::Init { dir } => init::init(&dir)
            .map(|n| {
                println!("site créé dans {} ({n} fichiers)", dir.display());
                eprintln!("Pour le voir : vitrine serve --site {}", dir.display());
            })
            .map_err(Into::into),
        Command::Schema => serde_json::to_string_pretty(&vitrine_generator::config::json_schema())
            .map(|s| println!("{s}"))
            .map_err(Into::into),
        Command::Man => clap_mangen::Man::new(command())
            .render(&mut std::io::stdout())
            .map_err(Into::into),
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
