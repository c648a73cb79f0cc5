//! An existing profile's passphrase: to open it, or (a plain profile from an earlier version)
//! to encrypt it with a new one.

use conclave_client::ProfileSecret;
use zeroize::Zeroize as _;

use crate::backend::Command;
use crate::state::{AppState, new_passphrase_problem};

/// A labelled, masked passphrase field in a two-column grid.
pub fn passphrase_field(ui: &mut egui::Ui, label: &str, text: &mut String, enabled: bool) {
    let label = ui.label(label);
    ui.add_enabled(enabled, egui::TextEdit::singleline(text).password(true))
        .labelled_by(label.id);
    ui.end_row();
}

/// Draws the passphrase screen.
pub fn show(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    egui::CentralPanel::default().show(ui, |ui| {
        let form = &mut state.unlock;
        ui.vertical_centered(|ui| {
            ui.add_space(40.0);
            if form.encrypting {
                ui.heading("Encrypt this profile");
                ui.label(
                    "This profile is stored unencrypted. Choose a passphrase to encrypt it on \
                     this computer. It cannot be recovered: without it, the profile cannot be \
                     opened.",
                );
            } else {
                ui.heading("Unlock Conclave");
                ui.label("This profile is encrypted. Enter its passphrase.");
            }
            ui.add_space(20.0);
        });
        egui::Grid::new("unlock")
            .num_columns(2)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                passphrase_field(ui, "Passphrase", &mut form.passphrase, !form.busy);
                if form.encrypting {
                    passphrase_field(ui, "Repeat passphrase", &mut form.repeat, !form.busy);
                }
            });
        let problem = if form.encrypting {
            new_passphrase_problem(&form.passphrase, &form.repeat)
        } else {
            form.passphrase
                .is_empty()
                .then(|| "Enter the passphrase.".to_owned())
        };
        if let Some(problem) = &problem
            && form.encrypting
            && !form.passphrase.is_empty()
        {
            ui.label(problem);
        }
        ui.add_space(8.0);
        let ready = !form.busy && problem.is_none();
        let button = if form.encrypting { "Encrypt" } else { "Unlock" };
        let submit = ui.add_enabled(ready, egui::Button::new(button)).clicked()
            || (ready && ui.input(|i| i.key_pressed(egui::Key::Enter)));
        if submit {
            form.busy = true;
            form.error = None;
            commands.push(Command::Unlock(ProfileSecret::passphrase(&form.passphrase)));
            form.passphrase.zeroize();
            form.repeat.zeroize();
        }
        if form.busy {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(if form.encrypting {
                    "Encrypting the profile..."
                } else {
                    "Opening the profile..."
                });
            });
        }
        if let Some(error) = &form.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
    });
}
