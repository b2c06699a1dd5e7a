//! The `flowgate` command: serve, migrate, create an admin.

use std::io::BufRead;

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
    let cfg = Config::load()?;
    flowgate::telemetry::init(&cfg.log_format);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
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
        }
    })
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
