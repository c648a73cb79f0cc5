//! The "Settings" menu (read receipts, the passphrase) and the "Change passphrase" dialog.

use conclave_client::ProfileSecret;

use crate::backend::Command;
use crate::state::{AppState, new_passphrase_problem};
use crate::views::unlock::passphrase_field;

/// The menu, in the top bar.
pub fn menu(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    ui.menu_button("Settings", |ui| {
        let mut receipts = state.settings.read_receipts;
        if ui
            .checkbox(&mut receipts, "Read receipts")
            .on_hover_text(
                "Tell others when you have read their messages, and see when they read yours. \
                 Off: neither.",
            )
            .changed()
        {
            commands.push(Command::SetReadReceipts(receipts));
        }
        let label = if state.settings.key_in_keyring {
            "Use a passphrase"
        } else {
            "Change passphrase"
        };
        if ui.button(label).clicked() {
            state.settings.passphrase_open = true;
            state.settings.error = None;
            ui.close();
        }
    });
}

/// The dialog: the current passphrase, the new one twice.
pub fn passphrase_dialog(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    if !state.settings.passphrase_open {
        return;
    }
    let mut open = true;
    let in_keyring = state.settings.key_in_keyring;
    let title = if in_keyring {
        "Use a passphrase"
    } else {
        "Change passphrase"
    };
    egui::Window::new(title)
        .open(&mut open)
        .collapsible(false)
        .default_width(420.0)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ui.ctx(), |ui| {
            let form = &mut state.settings;
            ui.label(if in_keyring {
                "The profile on this computer is encrypted again under a passphrase, in place \
                 of the key in your keyring (which is removed from it). It cannot be \
                 recovered: without it, the profile cannot be opened."
            } else {
                "The profile on this computer is encrypted again under the new passphrase. \
                 It cannot be recovered: without it, the profile cannot be opened."
            });
            let enabled = !form.busy;
            egui::Grid::new("passphrase change")
                .num_columns(2)
                .spacing([12.0, 8.0])
                .show(ui, |ui| {
                    if !in_keyring {
                        passphrase_field(ui, "Current passphrase", &mut form.current, enabled);
                    }
                    passphrase_field(ui, "New passphrase", &mut form.new, enabled);
                    passphrase_field(ui, "New passphrase again", &mut form.repeat, enabled);
                });
            let problem = new_passphrase_problem(&form.new, &form.repeat);
            if let Some(error) = &form.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            } else if let Some(problem) = &problem
                && !form.new.is_empty()
            {
                ui.weak(problem);
            }
            if form.busy {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Encrypting the profile again...");
                });
            } else if ui
                .add_enabled(problem.is_none(), egui::Button::new("Change"))
                .clicked()
            {
                form.busy = true;
                form.error = None;
                commands.push(Command::ChangePassphrase {
                    current: (!form.current.is_empty())
                        .then(|| ProfileSecret::passphrase(&form.current)),
                    new: ProfileSecret::passphrase(&form.new),
                });
            }
        });
    if !open {
        use zeroize::Zeroize as _;
        let form = &mut state.settings;
        form.passphrase_open = false;
        form.current.zeroize();
        form.new.zeroize();
        form.repeat.zeroize();
    }
}
