//! The main window: conversation list, the open conversation, the members panel, the status
//! bar, notices and key-change warnings.

use conclave_client::display::digit_groups;
use conclave_client::{CipherSuite, ConnectionState};

use crate::backend::Command;

/// Now, in ms since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
use crate::local_server::LocalServerState;
use crate::state::AppState;
use crate::views::{conversation, devices, members, settings};

/// Draws the main window.
pub fn show(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    egui::Panel::top("top").show(ui, |ui| top_bar(ui, state, commands));
    egui::Panel::bottom("status").show(ui, |ui| status_bar(ui, state));
    egui::Panel::left("conversations")
        .resizable(true)
        .default_size(240.0)
        .show(ui, |ui| conversation_list(ui, state, commands));
    if state.open.is_some() && state.search_results.is_none() {
        egui::Panel::right("members")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| members::show(ui, state, commands));
    }
    egui::CentralPanel::default().show(ui, |ui| {
        devices::revoked_banner(ui, state);
        key_warnings(ui, state);
        notices(ui, state);
        if state.search_results.is_some() {
            conversation::search_results(ui, state, commands);
        } else {
            conversation::show(ui, state, commands);
        }
    });
    new_conversation_dialog(ui, state, commands);
    devices::approve_dialog(ui, state, commands);
    devices::devices_dialog(ui, state, commands);
    settings::passphrase_dialog(ui, state, commands);
}

fn top_bar(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.strong("Conclave");
        ui.label(&state.me).on_hover_text(format!(
            "Your fingerprint: {}",
            digit_groups(&state.fingerprint)
        ));
        ui.separator();
        let label = ui.label("Search");
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut state.forms.search)
                    .hint_text("words in any conversation (Ctrl+F)")
                    .desired_width(260.0),
            )
            .labelled_by(label.id);
        if ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::F)) {
            field.request_focus();
        }
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Find").clicked() || enter) && !state.forms.search.trim().is_empty() {
            commands.push(Command::Search(state.forms.search.trim().to_owned()));
        }
        if state.search_results.is_some() && ui.button("Close search").clicked() {
            state.search_results = None;
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            settings::menu(ui, state, commands);
            ui.menu_button("Devices", |ui| {
                if ui.button("Link a device").clicked() {
                    state.approve.open = true;
                    ui.close();
                }
                if ui.button("Your devices").clicked() {
                    state.devices.open = true;
                    state.devices.devices.clear();
                    commands.push(Command::LoadDevices);
                    ui.close();
                }
            });
            let theme = if state.dark {
                "Light theme"
            } else {
                "Dark theme"
            };
            if ui.button(theme).on_hover_text("Ctrl+T").clicked() {
                state.dark = !state.dark;
            }
        });
    });
}

fn status_bar(ui: &mut egui::Ui, state: &AppState) {
    ui.horizontal(|ui| {
        let (text, color) = match state.connection {
            ConnectionState::Online => ("Online", egui::Color32::from_rgb(60, 170, 90)),
            ConnectionState::Connecting => ("Connecting...", ui.visuals().warn_fg_color),
            ConnectionState::Offline => (
                "Offline: messages wait and are sent when the server is back",
                ui.visuals().error_fg_color,
            ),
        };
        let (dot, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        ui.painter().circle_filled(dot.center(), 4.0, color);
        ui.label(text);
        ui.separator();
        ui.label(format!("Server {}", state.server));
        match &state.local_server {
            Some(LocalServerState::Hosting) => {
                ui.separator();
                ui.label("Local server: hosted by this window (embedded)");
            }
            Some(LocalServerState::Elsewhere) => {
                ui.separator();
                ui.label("Local server: running");
            }
            Some(LocalServerState::Unavailable(why)) => {
                ui.separator();
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("Local server unavailable: {why}"),
                );
            }
            Some(LocalServerState::Checking) | None => {}
        }
    });
}

fn conversation_list(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    ui.add_space(4.0);
    if ui
        .button("New conversation")
        .on_hover_text("Ctrl+N")
        .clicked()
    {
        state.forms.new_conversation = true;
    }
    ui.separator();
    let open = state.open.as_ref().map(|o| o.id);
    egui::ScrollArea::vertical().show(ui, |ui| {
        if state.conversations.is_empty() {
            ui.weak("No conversations yet.");
        }
        let today = state.time.day(now_ms());
        for summary in &state.conversations {
            let c = &summary.conversation;
            let mut title = c.name.clone();
            if c.left_at.is_some() {
                title.push_str("  (left)");
            }
            let selected = open == Some(c.id);
            let response = ui
                .horizontal(|ui| {
                    let response =
                        ui.selectable_label(selected, egui::RichText::new(title).strong());
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if summary.unread > 0 {
                            let badge = egui::RichText::new(format!(" {} ", summary.unread))
                                .small()
                                .strong()
                                .color(egui::Color32::WHITE)
                                .background_color(egui::Color32::from_rgb(40, 120, 200));
                            ui.label(badge)
                                .on_hover_text(format!("{} unread", summary.unread));
                        }
                        if let Some(last) = &summary.last_message {
                            let at = last.message.sent_at;
                            let when = if state.time.day(at) == today {
                                state.time.clock(at)
                            } else {
                                state.time.date(at)
                            };
                            ui.weak(when);
                        }
                    });
                    response
                })
                .inner;
            if let Some(last) = &summary.last_message {
                let body = if last.deleted_at.is_some() {
                    "message deleted"
                } else {
                    &last.message.body
                };
                let preview: String = body.chars().take(60).collect();
                ui.weak(format!("{}: {preview}", last.message.sender.user));
            }
            ui.add_space(4.0);
            if response.clicked() && !selected {
                commands.push(Command::Open(c.id));
            }
        }
    });
}

/// A red frame for what must not be missed (a changed key, a revoked device).
pub(crate) fn alarm(ui: &mut egui::Ui, contents: impl FnOnce(&mut egui::Ui)) {
    egui::Frame::new()
        .fill(egui::Color32::from_rgb(150, 20, 20))
        .inner_margin(10.0)
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.visuals_mut().override_text_color = Some(egui::Color32::WHITE);
            contents(ui);
        });
}

fn key_warnings(ui: &mut egui::Ui, state: &mut AppState) {
    let mut acknowledged = None;
    for (i, warning) in state.key_warnings.iter().enumerate() {
        alarm(ui, |ui| {
            ui.heading(format!(
                "Security warning: the key of {} changed",
                warning.member
            ));
            ui.label(format!(
                "Before: {}\nNow: {}",
                digit_groups(&warning.previous),
                digit_groups(&warning.current)
            ));
            ui.label(
                "This happens when they reinstalled, or when someone is intercepting. \
                     Compare safety numbers with them in person before trusting it.",
            );
            if ui.button("I understand").clicked() {
                acknowledged = Some(i);
            }
        });
        ui.add_space(6.0);
    }
    if let Some(i) = acknowledged {
        state.key_warnings.remove(i);
    }
}

fn notices(ui: &mut egui::Ui, state: &mut AppState) {
    let mut dismissed = None;
    for notice in &state.notices {
        ui.horizontal(|ui| {
            ui.colored_label(ui.visuals().warn_fg_color, &notice.text);
            if ui.small_button("Dismiss").clicked() {
                dismissed = Some(notice.id);
            }
        });
    }
    if let Some(id) = dismissed {
        state.notices.retain(|n| n.id != id);
    }
}

fn new_conversation_dialog(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    if !state.forms.new_conversation {
        return;
    }
    let mut open = true;
    let mut done = false;
    egui::Window::new("New conversation")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ui.ctx(), |ui| {
            let forms = &mut state.forms;
            let label = ui.label("Name");
            ui.text_edit_singleline(&mut forms.new_name)
                .labelled_by(label.id);
            let label = ui.label("Members (user names)");
            ui.add(egui::TextEdit::singleline(&mut forms.new_members).hint_text("bob, carol"))
                .labelled_by(label.id);
            suite_option(ui, &state.suites, &mut forms.new_suite);
            ui.horizontal(|ui| {
                let ready = !forms.new_name.trim().is_empty();
                if ui.add_enabled(ready, egui::Button::new("Create")).clicked() {
                    commands.push(Command::CreateConversation {
                        name: forms.new_name.trim().to_owned(),
                        members: forms
                            .new_members
                            .split([',', ' '])
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                        suite: forms.new_suite,
                    });
                    done = true;
                }
                if ui.button("Cancel").clicked() {
                    done = true;
                }
            });
            ui.separator();
            let label = ui.label("Or join with an invite link");
            ui.add(
                egui::TextEdit::singleline(&mut forms.join_link).hint_text("conclave://join/..."),
            )
            .labelled_by(label.id);
            let ready = !forms.join_link.trim().is_empty();
            if ui.add_enabled(ready, egui::Button::new("Join")).clicked() {
                commands.push(Command::JoinLink(forms.join_link.trim().to_owned()));
                forms.join_link.clear();
                done = true;
            }
        });
    if done || !open {
        state.forms.new_conversation = false;
        state.forms.new_name.clear();
        state.forms.new_members.clear();
        state.forms.new_suite = None;
    }
}

/// The new-conversation dialog's advanced option: the ciphersuite, among those this device
/// supports (its own first, the default). Everyone invited must support it too.
fn suite_option(ui: &mut egui::Ui, suites: &[CipherSuite], chosen: &mut Option<CipherSuite>) {
    let Some(own) = suites.first().copied() else {
        return;
    };
    egui::CollapsingHeader::new("Advanced")
        .id_salt("new-conversation-advanced")
        .show(ui, |ui| {
            let current = chosen.unwrap_or(own);
            let label = ui.label("Ciphersuite");
            egui::ComboBox::from_id_salt("new-conversation-suite")
                .selected_text(current.to_string())
                .width(ui.available_width())
                .show_ui(ui, |ui| {
                    for suite in suites {
                        let mut text = suite.to_string();
                        if suite.is_post_quantum() {
                            text.push_str(" — post-quantum key exchange");
                        }
                        if ui.selectable_label(current == *suite, text).clicked() {
                            *chosen = (*suite != own).then_some(*suite);
                        }
                    }
                })
                .response
                .labelled_by(label.id);
            if current.is_post_quantum() {
                ui.label(
                    "Post-quantum: recorded messages stay secret from a future quantum \
                     computer (X-Wing: ML-KEM-768 with X25519). A draft suite; signatures stay \
                     Ed25519. Everyone invited needs an app that supports it.",
                );
            }
        });
}
