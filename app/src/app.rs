//! The app: UI state, the engine handle, and the frame function that draws one from the
//! other.

use egui::{Key, Modifiers};

use crate::backend::{AppConfig, Backend};
use crate::state::{AppState, Screen};
use crate::views;

/// The Conclave desktop app. [`ConclaveApp::ui`] draws one frame; eframe and the tests both
/// call it.
pub struct ConclaveApp {
    state: AppState,
    backend: Backend,
    notifications: bool,
}

impl ConclaveApp {
    /// Starts the engine for `config` on `runtime` and returns the app.
    pub fn new(ctx: &egui::Context, config: AppConfig, runtime: &tokio::runtime::Handle) -> Self {
        let backend = Backend::start(runtime, config, ctx.clone());
        Self {
            state: AppState::default(),
            backend,
            notifications: true,
        }
    }

    /// Turns desktop notifications off (tests, benchmarks).
    pub fn without_notifications(mut self) -> Self {
        self.notifications = false;
        self
    }

    /// The UI state (for tests and benchmarks).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The UI state, to set up what a test cannot reach through the window.
    pub fn state_mut(&mut self) -> &mut AppState {
        &mut self.state
    }

    /// Shows times in `zone` instead of the system's (tests fix one).
    pub fn set_time_zone(&mut self, zone: jiff::tz::TimeZone) {
        self.state.time = crate::local_time::LocalTime::new(zone);
    }

    /// Closes the open conversation (the view shows the list only).
    pub fn close_conversation(&mut self) {
        self.state.open = None;
        self.state.members.clear();
        self.state.member_filter.invalidate();
        self.state.security = None;
        self.state.invite_link = None;
        self.state.join_requests.clear();
        self.state.policy = None;
    }

    /// Draws one frame.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        for update in self.backend.poll() {
            for command in self.state.apply(update) {
                self.backend.send(command);
            }
        }
        let ctx = ui.ctx().clone();
        ctx.set_visuals(if self.state.dark {
            egui::Visuals::dark()
        } else {
            egui::Visuals::light()
        });
        self.shortcuts(&ctx);
        self.notify(&ctx);

        let mut commands = Vec::new();
        match self.state.screen.clone() {
            Screen::Loading => {
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.centered_and_justified(|ui| ui.spinner());
                });
            }
            Screen::Failed(error) => {
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.heading("Conclave cannot open this profile");
                    ui.label(error);
                });
            }
            Screen::Onboarding => views::onboarding::show(ui, &mut self.state, &mut commands),
            Screen::Unlock => views::unlock::show(ui, &mut self.state, &mut commands),
            Screen::Linking => views::devices::linking(ui, &mut self.state),
            Screen::Main => views::main::show(ui, &mut self.state, &mut commands),
        }
        for command in commands {
            self.backend.send(command);
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let ctrl = Modifiers::COMMAND;
        ctx.input_mut(|i| {
            if i.consume_key(ctrl, Key::N) {
                self.state.forms.new_conversation = true;
            }
            if i.consume_key(ctrl, Key::T) {
                self.state.dark = !self.state.dark;
            }
            if i.consume_key(ctrl, Key::F) {
                self.state.search_results.get_or_insert_with(Vec::new);
            }
            if i.consume_key(Modifiers::NONE, Key::Escape) {
                self.state.forms.new_conversation = false;
                self.state.search_results = None;
                self.state.devices.open = false;
                if !self.state.approve.busy {
                    self.state.approve = Default::default();
                }
            }
        });
    }

    /// A desktop notification for messages that arrive while the window is unfocused, where
    /// the platform has `notify-send`; silently nothing elsewhere.
    fn notify(&mut self, ctx: &egui::Context) {
        if self.state.unseen.is_empty() {
            return;
        }
        let unseen = std::mem::take(&mut self.state.unseen);
        if !self.notifications || ctx.input(|i| i.focused) {
            return;
        }
        let body = if unseen.len() == 1 {
            unseen[0].clone()
        } else {
            format!("{} new messages", unseen.len())
        };
        std::thread::spawn(move || {
            let _ = std::process::Command::new("notify-send")
                .args(["--app-name=Conclave", "Conclave", &body])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        });
    }
}

impl eframe::App for ConclaveApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        ConclaveApp::ui(self, ui);
    }
}
