//! `conclave-app`: the desktop messenger.

#![forbid(unsafe_code)]

/// mimalloc, for the reasons in docs/ARCHITECTURE.md, "The allocator".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "conclave-app",
    version,
    about = "Conclave end-to-end encrypted messenger"
)]
struct Args {
    /// Profile directory (default: the platform data directory's `profiles/default`). Run a
    /// second window with another profile to chat with yourself.
    #[arg(long, env = "CONCLAVE_PROFILE")]
    profile: Option<PathBuf>,
    /// Delivery service for a new profile (default: the local one, hosted by the app if
    /// nothing runs there).
    #[arg(long, env = "CONCLAVE_SERVER")]
    server: Option<String>,
    /// A PEM file of CA certificates to trust for an `https://` server with a private CA.
    #[arg(long, env = "CONCLAVE_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Never use the OS keyring for the profile's key: always a passphrase. (By default a
    /// new profile may keep its key there, where a keyring answers.)
    #[arg(long, env = "CONCLAVE_NO_KEYRING")]
    no_keyring: bool,
}

fn main() -> eframe::Result {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONCLAVE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = Args::parse();
    // The engine's runtime lives as long as the process (eframe drops the app creator).
    let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime"),
    ));
    let mut config = conclave_app::AppConfig::from_platform(args.profile, args.server);
    config.client.ca_certs.extend(args.ca_cert);
    config.client.keyring = !args.no_keyring;
    // For scripts and tests; people type it into the app instead.
    config.client.profile_secret = std::env::var("CONCLAVE_PASSPHRASE")
        .ok()
        .map(|p| conclave_client::ProfileSecret::passphrase(&zeroize::Zeroizing::new(p)));
    let title = format!("Conclave — {}", config.profile_dir.display());
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size([1100.0, 720.0])
            .with_min_inner_size([720.0, 480.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Conclave",
        options,
        Box::new(move |cc| {
            Ok(Box::new(conclave_app::ConclaveApp::new(
                &cc.egui_ctx,
                config,
                runtime.handle(),
            )))
        }),
    )
}
