//! # conclave-app
//!
//! The Conclave desktop app, on egui / eframe. The UI is a function of [`state::AppState`];
//! all network, crypto and disk work happens in [`backend`] on a tokio runtime, which sends
//! updates back and asks for a repaint. Where no server is configured the app uses the local
//! default address and hosts a delivery service there if nothing answers
//! ([`local_server`]).
//!
//! ```no_run
//! // The engine's runtime must outlive the window.
//! let runtime: &'static tokio::runtime::Runtime =
//!     Box::leak(Box::new(tokio::runtime::Runtime::new().unwrap()));
//! let config = conclave_app::AppConfig::from_platform(None, None);
//! eframe::run_native(
//!     "Conclave",
//!     eframe::NativeOptions::default(),
//!     Box::new(move |cc| {
//!         Ok(Box::new(conclave_app::ConclaveApp::new(&cc.egui_ctx, config, runtime.handle())))
//!     }),
//! )
//! .unwrap();
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod app;
pub mod backend;
pub mod local_server;
pub mod local_time;
pub mod local_tls;
pub mod preview;
pub mod state;
pub mod views;

pub use app::ConclaveApp;
pub use backend::AppConfig;
