//! The open conversation: its history as virtualised rows (only visible rows are laid out,
//! and only their pages loaded), the compose box, and search results.

use conclave_client::display::{clock, date, day};
use conclave_client::{ConversationId, MessageKind, MessageState, StoredMessage};

use crate::backend::{Command, PAGE};
use crate::state::AppState;

/// Height of a row's header line (sender, time, state).
const HEADER: f32 = 17.0;
/// Height of one line of message text.
const LINE: f32 = 19.0;
/// Gap below each row.
const GAP: f32 = 6.0;
/// Longer messages show this many lines (the whole text on hover).
const MAX_LINES: usize = 12;
/// A narrow estimate of a character's width in the body font, so that estimated line counts
/// err towards too many (a little blank space) rather than too few (clipped text).
const CHAR_WIDTH: f32 = 6.2;
/// Height of a row not loaded yet (and of a one-line message).
pub const ROW_HEIGHT: f32 = HEADER + LINE + GAP;

/// A row's height, from its text's estimated wrapped line count. Estimated, not measured:
/// laying out 100,000 texts to scroll through them would cost far more than a frame.
fn row_height(message: &StoredMessage, chars_per_line: usize) -> f32 {
    let lines: usize = message
        .message
        .body
        .split('\n')
        .map(|line| line.chars().count().div_ceil(chars_per_line).max(1))
        .sum();
    HEADER + LINE * lines.clamp(1, MAX_LINES) as f32 + GAP
}

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
    } else if summary.conversation.request {
        request(ui, summary.conversation.id, commands);
    } else {
        compose(ui, state, commands);
    }
}

fn history(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    let Some(open) = state.open.as_mut() else {
        return;
    };
    let total = open.total as usize;
    let width = ui.available_width();
    let chars_per_line = ((width - 16.0) / CHAR_WIDTH).max(8.0) as usize;
    // Where each page starts: loaded pages by their rows' heights, others as plain rows.
    let pages = total.div_ceil(PAGE);
    let mut page_top = Vec::with_capacity(pages + 1);
    let mut content = 0.0;
    for page in 0..pages {
        page_top.push(content);
        let rows = PAGE.min(total - page * PAGE);
        content += match open.pages.get(&page) {
            Some(messages) => {
                messages
                    .iter()
                    .map(|m| row_height(m, chars_per_line))
                    .sum::<f32>()
                    + rows.saturating_sub(messages.len()) as f32 * ROW_HEIGHT
            }
            None => rows as f32 * ROW_HEIGHT,
        };
    }
    page_top.push(content);

    let mut area = egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .stick_to_bottom(true);
    if open.scroll_to_bottom {
        area = area.vertical_scroll_offset(content);
        open.scroll_to_bottom = false;
    }
    let mut newest_shown = None;
    area.show_viewport(ui, |ui, viewport| {
        ui.set_height(content);
        let origin = ui.max_rect().min;
        // Only the rows that intersect the viewport are laid out.
        let first_page = page_top[1..].partition_point(|&bottom| bottom <= viewport.min.y);
        let mut y = page_top.get(first_page).copied().unwrap_or(content);
        let mut row = first_page * PAGE;
        while row < total && y < viewport.max.y {
            let message = open.row(row);
            let height = message.map_or(ROW_HEIGHT, |m| row_height(m, chars_per_line));
            if y + height > viewport.min.y {
                let rect = egui::Rect::from_min_size(
                    origin + egui::vec2(0.0, y),
                    egui::vec2(width, height),
                );
                match message {
                    Some(message) => {
                        let new_day = row == 0
                            || open.row(row - 1).is_some_and(|prev| {
                                day(prev.message.sent_at) != day(message.message.sent_at)
                            });
                        newest_shown = newest_shown.max(Some(message.id));
                        ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                            ui.set_clip_rect(rect.intersect(ui.clip_rect()));
                            message_row(ui, message, new_day);
                        });
                    }
                    None => {
                        let page = row / PAGE;
                        if open.requested.insert(page) {
                            commands.push(Command::LoadPage(open.id, page));
                        }
                        ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                            ui.weak("...");
                        });
                    }
                }
            }
            y += height;
            row += 1;
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
        ui.spacing_mut().item_spacing.y = 2.0;
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
            MessageKind::Unsupported | MessageKind::Attachment => {
                egui::RichText::new(&m.body).italics()
            }
        };
        let body = if m.state == MessageState::Failed {
            body.color(ui.visuals().error_fg_color)
        } else {
            body
        };
        ui.add(egui::Label::new(body).wrap()).on_hover_text(&m.body);
    });
}

/// An invitation from someone new: nothing is sent to it until the user says yes.
fn request(ui: &mut egui::Ui, id: ConversationId, commands: &mut Vec<Command>) {
    ui.label(
        "You have not talked to whoever added you here (see the first line above). \
         Nothing is sent to this conversation unless you accept.",
    );
    ui.horizontal(|ui| {
        if ui.button("Accept").clicked() {
            commands.push(Command::Accept(id));
        }
        if ui.button("Decline").clicked() {
            commands.push(Command::Decline(id));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use conclave_client::{ConversationId, MessageId, NewMessage};
    use conclave_protocol::{DeviceId, MemberId, UserName};

    fn message(body: &str) -> StoredMessage {
        StoredMessage {
            id: MessageId(1),
            message: NewMessage {
                conversation: ConversationId(1),
                uid: vec![1],
                sender: MemberId::new(UserName::new("a").unwrap(), DeviceId::new("d").unwrap()),
                sent_at: 0,
                received_at: None,
                body: body.into(),
                state: MessageState::Sent,
                server_seq: None,
                outgoing: true,
                kind: MessageKind::Text,
                reply_to: None,
                expires_at: None,
                attachment: None,
            },
            edited_at: None,
            deleted_at: None,
        }
    }

    #[test]
    fn rows_grow_with_their_text_up_to_a_limit() {
        let one = row_height(&message("short"), 40);
        assert_eq!(one, ROW_HEIGHT);
        assert_eq!(row_height(&message(&"x".repeat(81)), 40), one + 2.0 * LINE);
        assert_eq!(row_height(&message("a\nb\n\nc"), 40), one + 3.0 * LINE);
        let capped = HEADER + LINE * MAX_LINES as f32 + GAP;
        assert_eq!(row_height(&message(&"x".repeat(10_000)), 40), capped);
    }
}
