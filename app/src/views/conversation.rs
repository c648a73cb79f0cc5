//! The open conversation: its history as virtualised rows (only visible rows are laid out,
//! and only their pages loaded), the compose box, and search results.

use conclave_client::display::{clock, date, day};
use conclave_client::{MessageKind, MessageState, StoredMessage};

use crate::backend::{Command, PAGE};
use crate::state::AppState;

/// Height of one history row: a header line and one line of text.
pub const ROW_HEIGHT: f32 = 40.0;

/// Draws the open conversation (or a hint when none is open).
pub fn show(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    let Some(summary) = state.open_summary().cloned() else {
        ui.centered_and_justified(|ui| {
            ui.weak("Choose a conversation, or start one with New conversation (Ctrl+N).");
        });
        return;
    };
    let left = summary.conversation.left_at.is_some();
    ui.heading(&summary.conversation.name);
    ui.separator();

    let compose_height = 70.0;
    let history_height = (ui.available_height() - compose_height).max(80.0);
    ui.allocate_ui(egui::vec2(ui.available_width(), history_height), |ui| {
        history(ui, state, commands);
    });
    ui.separator();
    if left {
        ui.weak("You are no longer a member of this conversation. Its history stays here.");
    } else {
        compose(ui, state, commands);
    }
}

fn history(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    let Some(open) = state.open.as_mut() else {
        return;
    };
    let total = open.total as usize;
    let mut area = egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .stick_to_bottom(true);
    if open.scroll_to_bottom {
        // The end of the rows (egui clamps an offset past the end to the end).
        let row = ROW_HEIGHT + ui.spacing().item_spacing.y;
        area = area.vertical_scroll_offset(total as f32 * row);
        open.scroll_to_bottom = false;
    }
    let mut newest_shown = None;
    area.show_rows(ui, ROW_HEIGHT, total, |ui, rows| {
        for row in rows {
            let Some(message) = open.row(row) else {
                let page = row / PAGE;
                if open.requested.insert(page) {
                    commands.push(Command::LoadPage(open.id, page));
                }
                ui.allocate_ui(egui::vec2(ui.available_width(), ROW_HEIGHT), |ui| {
                    ui.weak("...");
                });
                continue;
            };
            let new_day = row == 0
                || open
                    .row(row - 1)
                    .is_some_and(|prev| day(prev.message.sent_at) != day(message.message.sent_at));
            newest_shown = Some(message.id);
            ui.allocate_ui(egui::vec2(ui.available_width(), ROW_HEIGHT), |ui| {
                message_row(ui, message, new_day);
            });
        }
    });
    // What was on screen is read.
    if let (Some(newest), Some(summary)) = (newest_shown, state.open_summary())
        && summary.unread > 0
        && newest > summary.conversation.last_read
    {
        commands.push(Command::MarkRead(summary.conversation.id, newest));
    }
}

fn message_row(ui: &mut egui::Ui, message: &StoredMessage, new_day: bool) {
    let m = &message.message;
    ui.vertical(|ui| {
        ui.set_height(ROW_HEIGHT);
        ui.horizontal(|ui| {
            if new_day {
                ui.label(egui::RichText::new(date(m.sent_at)).small().strong());
            }
            let state = match m.state {
                MessageState::Pending => " · pending",
                MessageState::Sent => " · sent",
                MessageState::Failed => " · failed",
                MessageState::Received => "",
            };
            ui.label(
                egui::RichText::new(format!(
                    "{} · {} UTC{state}",
                    m.sender.user,
                    clock(m.sent_at)
                ))
                .small()
                .weak(),
            );
        });
        let body = match m.kind {
            MessageKind::Text => egui::RichText::new(&m.body),
            MessageKind::Event => egui::RichText::new(&m.body).italics().weak(),
            MessageKind::Unsupported => egui::RichText::new(&m.body).italics(),
        };
        let body = if m.state == MessageState::Failed {
            body.color(ui.visuals().error_fg_color)
        } else {
            body
        };
        ui.add(egui::Label::new(body).truncate())
            .on_hover_text(&m.body);
    });
}

fn compose(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    let Some(id) = state.open.as_ref().map(|o| o.id) else {
        return;
    };
    let compose_id = ui.make_persistent_id("compose");
    // Enter sends, Shift+Enter starts a new line: take Enter before the text box sees it.
    let send_now = ui.memory(|m| m.has_focus(compose_id))
        && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Enter));
    ui.horizontal(|ui| {
        let label = ui.label("Message");
        let field = ui
            .add(
                egui::TextEdit::multiline(&mut state.compose)
                    .id(compose_id)
                    .desired_rows(2)
                    .desired_width(ui.available_width() - 70.0)
                    .hint_text("Enter sends, Shift+Enter for a new line"),
            )
            .labelled_by(label.id);
        let clicked = ui.button("Send").clicked();
        if (send_now || clicked) && !state.compose.trim().is_empty() {
            commands.push(Command::Send(id, state.compose.trim_end().to_owned()));
            state.compose.clear();
            field.request_focus();
        }
    });
}

/// Search results across all conversations; a click opens the conversation.
pub fn search_results(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    let results = state.search_results.clone().unwrap_or_default();
    ui.heading(format!("Search results ({})", results.len()));
    ui.separator();
    egui::ScrollArea::vertical().show(ui, |ui| {
        if results.is_empty() {
            ui.weak("Nothing found yet. Type words above and press Enter.");
        }
        for hit in &results {
            let m = &hit.message;
            let conversation = state
                .conversations
                .iter()
                .find(|c| c.conversation.id == m.conversation)
                .map(|c| c.conversation.name.clone())
                .unwrap_or_default();
            let text = format!("[{conversation}] {}: {}", m.sender.user, m.body);
            if ui.link(text).clicked() {
                commands.push(Command::Open(m.conversation));
                state.search_results = None;
            }
        }
    });
}
