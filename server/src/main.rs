//! The `flowgate` command: serve, migrate, create an admin, export and apply flows as files.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use flowgate::config::Config;

/// mimalloc: less time in the allocator than glibc's under many threads (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "flowgate",
    version,
    about = "Flowgate: self-hosted low-code integration platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default): admin API, consumer endpoints, workers.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage admin users.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Write every integration (and the keys, OAuth clients, stored secrets and subscriptions
    /// it names, never a secret) of a running server as files in DIR.
    Export {
        dir: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Make a running server's integrations and subscriptions match the files in DIR, printing
    /// a diff. Exit code 0: done or nothing to do; 1: problems; 2: --dry-run found changes.
    Apply {
        dir: PathBuf,
        /// Check everything and print the changes, but change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// The server `export` and `apply` talk to; sign in with FLOWGATE_TOKEN (a session token), or
/// FLOWGATE_EMAIL and FLOWGATE_PASSWORD.
#[derive(clap::Args)]
struct ServerArgs {
    /// The server's base URL (its admin API).
    #[arg(long, env = "FLOWGATE_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user. The password is read from FLOWGATE_NEW_PASSWORD or the first line of stdin.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "admin", value_parser = clap::builder::PossibleValuesParser::new(flowgate_api::users::ROLES.iter().copied()))]
        role: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    // `export` and `apply` are clients of a server: they need no server configuration.
    if let Command::Export { .. } | Command::Apply { .. } = command {
        let code = match runtime().and_then(|rt| rt.block_on(files(command))) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        };
        std::process::exit(code);
    }
    let cfg = Config::load()?;
    flowgate::telemetry::init(&cfg.log_format);
    runtime()?.block_on(async move {
        match command {
            Command::Serve => serve(cfg).await,
            Command::Migrate => {
                let db = flowgate::db::connect(&cfg).await?;
                flowgate::db::migrate(&db).await?;
                println!("migrations applied");
                Ok(())
            }
            Command::Admin {
                command: AdminCommand::Create { email, role },
            } => {
                let password = match std::env::var("FLOWGATE_NEW_PASSWORD") {
                    Ok(p) => p,
                    Err(_) => {
                        let mut line = String::new();
                        std::io::stdin().lock().read_line(&mut line)?;
                        line.trim_end_matches(['\r', '\n']).to_owned()
                    }
                };
                let db = flowgate::db::connect(&cfg).await?;
                flowgate::db::migrate(&db).await?;
                let user = flowgate::domain::users::create(
                    &db,
                    flowgate_api::users::UserIn {
                        email,
                        password,
                        role,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("created {} ({}) with id {}", user.email, user.role, user.id);
                Ok(())
            }
            Command::Export { .. } | Command::Apply { .. } => Ok(()),
        }
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `export` and `apply`; returns the exit code.
async fn files(command: Command) -> anyhow::Result<i32> {
    use flowgate::files::{Api, Credentials, Log};
    let mut log = Log::printing();
    match command {
        Command::Export { dir, server } => {
            let api = Api::connect(&server.url, Credentials::from_env()?).await?;
            flowgate::files::export(&api, &dir, &mut log).await?;
            Ok(0)
        }
        Command::Apply {
            dir,
            dry_run,
            server,
        } => {
            let api = Api::connect(&server.url, Credentials::from_env()?).await?;
            Ok(flowgate::files::apply(&api, &dir, dry_run, &mut log)
                .await?
                .exit_code())
        }
        _ => Ok(0),
    }
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(&cfg.listen)
        .with_context(|| format!("binding {}", cfg.listen))?;
    let consumers = if cfg.consumer_listen.is_empty() {
        None
    } else {
        Some(
            std::net::TcpListener::bind(&cfg.consumer_listen)
                .with_context(|| format!("binding {}", cfg.consumer_listen))?,
        )
    };
    tracing::info!(config = ?cfg, "starting flowgate");
    let running = flowgate::start_with(cfg, listener, consumers).await?;
    running.wait().await
}
