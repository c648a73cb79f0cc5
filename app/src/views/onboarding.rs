//! First run: choose a user name, a server, and what the profile is encrypted with: a key
//! kept in the OS keyring (offered where one answers) or a passphrase.

use conclave_client::ProfileSecret;
use zeroize::Zeroize as _;

use crate::backend::Command;
use crate::state::{AppState, new_passphrase_problem};
use crate::views::unlock::passphrase_field;

/// Draws the onboarding screen.
pub fn show(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    egui::CentralPanel::default().show(ui, |ui| {
        ui.vertical_centered(|ui| {
            ui.add_space(40.0);
            ui.heading("Welcome to Conclave");
            ui.label("End-to-end encrypted group messaging.");
            ui.add_space(12.0);
        });
        let form = &mut state.onboarding;
        ui.horizontal(|ui| {
            ui.selectable_value(&mut form.link, false, "New account");
            ui.selectable_value(&mut form.link, true, "Link to an existing account");
        });
        ui.add_space(8.0);
        egui::Grid::new("onboarding")
            .num_columns(2)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                if form.link {
                    let label = ui.label("Device name");
                    ui.add_enabled(
                        !form.busy,
                        egui::TextEdit::singleline(&mut form.device)
                            .hint_text("optional, e.g. desktop"),
                    )
                    .labelled_by(label.id);
                } else {
                    let label = ui.label("User name");
                    ui.add_enabled(
                        !form.busy,
                        egui::TextEdit::singleline(&mut form.user).hint_text("a-z, 0-9, . _ -"),
                    )
                    .labelled_by(label.id);
                }
                ui.end_row();
                let label = ui.label("Server");
                ui.add_enabled(!form.busy, egui::TextEdit::singleline(&mut form.server))
                    .labelled_by(label.id);
                ui.end_row();
                if asks_passphrase(form) {
                    passphrase_field(ui, "Passphrase", &mut form.passphrase, !form.busy);
                    passphrase_field(ui, "Repeat passphrase", &mut form.repeat, !form.busy);
                }
            });
        if form.needs_passphrase && form.keyring_offered {
            ui.add_enabled(
                !form.busy,
                egui::Checkbox::new(
                    &mut form.use_keyring,
                    "Keep the key in this computer's keyring (no passphrase to type)",
                ),
            )
            .on_hover_text(
                "The profile is encrypted with a random key kept in your login keyring, \
                 unlocked when you log in. Programs you run can ask the keyring for it; a \
                 passphrase keeps it from them.",
            );
        }
        let problem = asks_passphrase(form)
            .then(|| new_passphrase_problem(&form.passphrase, &form.repeat))
            .flatten();
        if asks_passphrase(form) {
            ui.label(
                "The profile is encrypted on this computer with this passphrase. It cannot be \
                 recovered: without it, the profile cannot be opened.",
            );
            if let Some(problem) = &problem
                && !form.passphrase.is_empty()
            {
                ui.label(problem);
            }
        }
        ui.add_space(8.0);
        let ready = !form.busy
            && (form.link || !form.user.trim().is_empty())
            && !form.server.trim().is_empty()
            && problem.is_none();
        let action = if form.link {
            "Show the link code"
        } else {
            "Create profile"
        };
        let submit = ui.add_enabled(ready, egui::Button::new(action)).clicked()
            || (ready && ui.input(|i| i.key_pressed(egui::Key::Enter)));
        if submit {
            form.busy = true;
            form.error = None;
            let passphrase =
                asks_passphrase(form).then(|| ProfileSecret::passphrase(&form.passphrase));
            form.passphrase.zeroize();
            form.repeat.zeroize();
            let server = form.server.trim().to_owned();
            commands.push(if form.link {
                Command::StartLink {
                    server,
                    device: Some(form.device.trim().to_owned()).filter(|d| !d.is_empty()),
                    passphrase,
                }
            } else {
                Command::CreateProfile {
                    user: form.user.trim().to_owned(),
                    server,
                    passphrase,
                }
            });
        }
        if form.busy {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Registering with the server...");
            });
        }
        if let Some(error) = &form.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
    });
}

/// Whether the form asks for a passphrase: none was configured, and the key is not to be
/// kept in the keyring.
fn asks_passphrase(form: &crate::state::Onboarding) -> bool {
    form.needs_passphrase && !(form.keyring_offered && form.use_keyring)
}
