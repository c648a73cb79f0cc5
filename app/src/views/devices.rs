//! The user's devices: the link screen of a new device (its code as text and QR code, then
//! the progress), and, on an existing device, the "Link a device" and "Devices" dialogs.

use conclave_client::display::{digit_groups, timestamp};
use conclave_client::link::{LinkCode, LinkProgress};

use crate::backend::Command;
use crate::state::{AppState, link_progress};

/// The screen of a device waiting to be linked.
pub fn linking(ui: &mut egui::Ui, state: &mut AppState) {
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.heading("Link this device to your account");
            let approved = state
                .linking
                .progress
                .as_ref()
                .is_some_and(|p| !matches!(p, LinkProgress::WaitingForApproval));
            if !approved {
                ui.label(
                    "On a device where you use Conclave already, open \"Link a device\" in the \
                     Devices menu and scan or paste this code. Compare the fingerprint it \
                     shows with the one here before you confirm.",
                );
                ui.add_space(8.0);
                qr_code(ui, &state.linking.code);
                ui.add_space(8.0);
                let label = ui.label("Link code");
                let mut code = state.linking.code.clone();
                ui.add(
                    egui::TextEdit::multiline(&mut code)
                        .desired_rows(3)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
                if ui.button("Copy code").clicked() {
                    ui.ctx().copy_text(state.linking.code.clone());
                }
                ui.label(format!(
                    "Fingerprint of this device: {}",
                    state.linking.fingerprint
                ));
            }
            if let Some(progress) = &state.linking.progress {
                let (fraction, words) = link_progress(progress);
                ui.add_space(8.0);
                ui.add(egui::ProgressBar::new(fraction).show_percentage());
                ui.label(words);
            }
        });
    });
}

/// Draws `text` as a QR code (dark modules on a light field, with its quiet zone), for a
/// camera; nothing if it does not fit in one.
pub(super) fn qr_code(ui: &mut egui::Ui, text: &str) {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else {
        return;
    };
    let width = code.width();
    let colors = code.to_colors();
    let quiet = 4;
    let modules = width + 2 * quiet;
    let module = (240.0 / modules as f32).max(2.0);
    let side = module * modules as f32;
    let (rect, _) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, egui::Color32::WHITE);
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = ((i % width + quiet) as f32, (i / width + quiet) as f32);
            let min = rect.min + egui::vec2(x * module, y * module);
            painter.rect_filled(
                egui::Rect::from_min_size(min, egui::vec2(module, module)),
                0.0,
                egui::Color32::BLACK,
            );
        }
    }
}

/// "Link a device": the code, the new device's fingerprint to compare, then the progress.
pub fn approve_dialog(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    if !state.approve.open {
        return;
    }
    let mut open = true;
    egui::Window::new("Link a device")
        .open(&mut open)
        .collapsible(false)
        .default_width(460.0)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ui.ctx(), |ui| {
            let approve = &mut state.approve;
            ui.label(
                "On the new device, choose \"Link to an existing account\", then paste the \
                 code it shows here.",
            );
            let label = ui.label("Code");
            ui.add_enabled(
                !approve.busy,
                egui::TextEdit::multiline(&mut approve.code)
                    .desired_rows(3)
                    .hint_text("conclave-link:..."),
            )
            .labelled_by(label.id);
            let parsed = (!approve.code.trim().is_empty()).then(|| LinkCode::parse(&approve.code));
            match &parsed {
                Some(Ok(code)) => {
                    ui.label(format!(
                        "New device: {} on {}",
                        code.device(),
                        code.server()
                    ));
                    ui.strong(format!("Fingerprint: {}", code.fingerprint()));
                    ui.label("Check that the new device shows the same fingerprint.");
                }
                Some(Err(e)) => {
                    ui.colored_label(ui.visuals().error_fg_color, e.to_string());
                }
                None => {}
            }
            let ready = !approve.busy && matches!(parsed, Some(Ok(_)));
            if ui
                .add_enabled(ready, egui::Button::new("The fingerprints match: link it"))
                .clicked()
            {
                approve.busy = true;
                approve.outcome = None;
                approve.progress = None;
                commands.push(Command::ApproveLink(approve.code.trim().to_owned()));
            }
            if let Some(progress) = &approve.progress
                && approve.busy
            {
                let (fraction, words) = link_progress(progress);
                ui.add(egui::ProgressBar::new(fraction).show_percentage());
                ui.label(words);
            }
            if let Some(outcome) = &approve.outcome {
                ui.label(outcome);
            }
        });
    if !open && !state.approve.busy {
        state.approve = Default::default();
    }
}

/// "Devices": the user's devices, each but this one revocable (after a confirmation).
pub fn devices_dialog(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    if !state.devices.open {
        return;
    }
    let mut open = true;
    egui::Window::new("Your devices")
        .open(&mut open)
        .collapsible(false)
        .default_width(460.0)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ui.ctx(), |ui| {
            let dialog = &mut state.devices;
            if dialog.devices.is_empty() {
                ui.spinner();
            }
            for device in &dialog.devices {
                ui.group(|ui| {
                    let name = if device.this_device {
                        format!("{} (this device)", device.device)
                    } else {
                        device.device.clone()
                    };
                    ui.strong(name);
                    ui.label(format!(
                        "Added {}; last seen {}",
                        timestamp(device.added_at as i64 * 1000),
                        device
                            .last_seen
                            .map_or_else(|| "never".into(), |s| timestamp(s as i64 * 1000))
                    ));
                    ui.label(format!("Fingerprint {}", digit_groups(&device.fingerprint)));
                    if !device.this_device {
                        if dialog.confirm_revoke.as_deref() == Some(device.device.as_str()) {
                            ui.label(
                                "Revoke it? It will be refused by the server at once and \
                                 removed from every conversation.",
                            );
                            ui.horizontal(|ui| {
                                if ui.button("Revoke").clicked() {
                                    commands.push(Command::RevokeDevice(device.device.clone()));
                                    dialog.confirm_revoke = None;
                                }
                                if ui.button("Keep it").clicked() {
                                    dialog.confirm_revoke = None;
                                }
                            });
                        } else if ui.button(format!("Revoke {}", device.device)).clicked() {
                            dialog.confirm_revoke = Some(device.device.clone());
                        }
                    }
                });
            }
        });
    if !open {
        state.devices.open = false;
        state.devices.confirm_revoke = None;
    }
}

/// The banner of a revoked device.
pub fn revoked_banner(ui: &mut egui::Ui, state: &AppState) {
    if !state.revoked {
        return;
    }
    super::main::alarm(ui, |ui| {
        ui.heading("This device was revoked");
        ui.label(
            "One of your other devices removed it from your account. It can no longer \
                 send or receive messages; the history on it stays readable. To use it \
                 again, link it anew.",
        );
    });
    ui.add_space(6.0);
}
