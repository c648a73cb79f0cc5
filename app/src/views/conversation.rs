//! The open conversation: its history as virtualised rows (only visible rows are laid out,
//! and only their pages loaded), who is typing, the compose box (replying, editing, files
//! dropped on the window), and search results.

use std::time::{Duration, Instant};

use std::collections::HashMap;

use conclave_client::{ConversationId, MessageId, StoredMessage};

use crate::backend::{Command, PAGE};
use crate::local_time::LocalTime;
use crate::state::{AppState, ComposeMode, OpenConversation, Pasted, Preview};
use crate::views::message::{self, LINE, RowContext};

/// Height of a row not loaded yet.
pub const ROW_HEIGHT: f32 = message::HEADER + LINE + message::GAP + 12.0;
/// How long "NAME is typing..." shows after the last notification.
const TYPING_SHOWN: Duration = Duration::from_secs(6);
/// How often the app tells the others the user is typing.
const TYPING_EVERY: Duration = Duration::from_secs(4);
/// The largest side of a pasted image's thumbnail above the compose box.
const PASTED_SIDE: f32 = 160.0;
/// The disappearing-message timers offered.
const TIMERS: [(u32, &str); 6] = [
    (0, "Off"),
    (30, "30 seconds"),
    (300, "5 minutes"),
    (3600, "1 hour"),
    (86_400, "1 day"),
    (604_800, "1 week"),
];

/// Draws the open conversation (or a hint when none is open).
pub fn show(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    let Some(summary) = state.open_summary().cloned() else {
        ui.centered_and_justified(|ui| {
            ui.weak("Choose a conversation, or start one with New conversation (Ctrl+N).");
        });
        return;
    };
    let left = summary.conversation.left_at.is_some();
    let id = summary.conversation.id;
    ui.horizontal(|ui| {
        ui.heading(&summary.conversation.name);
        if !left && !summary.conversation.request {
            ui.add_space(16.0);
            let current = summary.conversation.disappear_after;
            let name = TIMERS.iter().find(|(s, _)| *s == current).map_or_else(
                || conclave_client::display::duration(u64::from(current)),
                |(_, n)| (*n).to_owned(),
            );
            egui::ComboBox::from_label("Disappearing messages")
                .selected_text(name)
                .show_ui(ui, |ui| {
                    for (seconds, label) in TIMERS {
                        if ui.selectable_label(seconds == current, label).clicked()
                            && seconds != current
                        {
                            commands.push(Command::Disappear(id, seconds));
                        }
                    }
                });
        }
    });
    ui.separator();

    let compose_height = 96.0;
    let history_height = (ui.available_height() - compose_height).max(80.0);
    ui.allocate_ui(egui::vec2(ui.available_width(), history_height), |ui| {
        history(ui, state, commands);
    });
    typing_line(ui, state, id);
    if let Some((name, done, total)) = &state.transfer {
        ui.add(
            egui::ProgressBar::new(*done as f32 / (*total).max(1) as f32).text(format!(
                "{name}: {} of {}",
                message::human_size(*done),
                message::human_size(*total)
            )),
        );
    }
    ui.separator();
    if left {
        ui.weak("You are no longer a member of this conversation. Its history stays here.");
    } else if summary.conversation.request {
        request(ui, id, commands);
    } else {
        dropped_files(ui, id, commands);
        compose(ui, state, commands);
    }
}

fn typing_line(ui: &mut egui::Ui, state: &mut AppState, conversation: ConversationId) {
    state
        .typing
        .retain(|(_, _, at)| at.elapsed() < TYPING_SHOWN);
    let typing: Vec<String> = state
        .typing
        .iter()
        .filter(|(c, _, _)| *c == conversation)
        .map(|(_, user, _)| user.to_string())
        .collect();
    if typing.is_empty() {
        ui.add_space(LINE);
    } else {
        let who = typing.join(", ");
        let verb = if typing.len() == 1 { "is" } else { "are" };
        ui.weak(format!("{who} {verb} typing..."));
        // Repaint to take the line away when it is stale.
        ui.ctx().request_repaint_after(Duration::from_secs(1));
    }
}

/// Files dropped on the window are sent to the open conversation.
fn dropped_files(ui: &mut egui::Ui, conversation: ConversationId, commands: &mut Vec<Command>) {
    let dropped = ui.ctx().input(|i| i.raw.dropped_files.clone());
    for file in dropped {
        let path = file.path();
        if !path.as_os_str().is_empty() {
            commands.push(Command::SendFile(conversation, path.to_path_buf()));
        }
    }
    if ui.ctx().input(|i| !i.raw.hovered_files.is_empty()) {
        ui.colored_label(ui.visuals().warn_fg_color, "Drop to send the file here");
    }
}

/// What a row shows besides its message: its annotations and preview, and whether a day or
/// the unread messages start with it.
fn row_context<'a>(
    open: &'a OpenConversation,
    previews: &'a HashMap<MessageId, Preview>,
    time: &LocalTime,
    row: usize,
    m: &StoredMessage,
) -> RowContext<'a> {
    let previous = row.checked_sub(1).and_then(|r| open.row(r));
    RowContext {
        annotations: open.annotations.get(&m.id),
        preview: previews.get(&m.id),
        first_unread: m.id > open.read_mark
            && !m.message.outgoing
            && previous.is_some_and(|p| p.id <= open.read_mark || p.message.outgoing),
        new_day: previous
            .is_none_or(|p| time.day(p.message.sent_at) != time.day(m.message.sent_at)),
    }
}

fn history(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    let me = state.me.split('/').next().unwrap_or_default().to_owned();
    let ctx = ui.ctx().clone();
    let Some(open) = state.open.as_mut() else {
        return;
    };
    let total = open.total as usize;
    let width = ui.available_width();
    let time = &state.time;
    // Decoded previews go to the GPU once.
    for preview in state.previews.values_mut() {
        if let Preview::Decoded(image) = preview {
            let texture = ctx.load_texture("attachment", (**image).clone(), Default::default());
            *preview = Preview::Texture(texture);
        }
    }
    let previews = &state.previews;
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
                    .enumerate()
                    .map(|(i, m)| {
                        message::row_height(
                            m,
                            &row_context(open, previews, time, page * PAGE + i, m),
                            width,
                        )
                    })
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
    // An offset past the end would draw one empty frame before egui clamps it.
    let bottom = (content - ui.available_height()).max(0.0);
    if open.scroll_to_bottom {
        area = area.vertical_scroll_offset(bottom);
        open.scroll_to_bottom = false;
    }
    if let Some(target) = open.jump_to.take()
        && let Some(row) = open.row_of(target)
    {
        let page = row / PAGE;
        let mut y = page_top[page];
        for r in page * PAGE..row {
            y += open.row(r).map_or(ROW_HEIGHT, |m| {
                message::row_height(m, &row_context(open, previews, time, r, m), width)
            });
        }
        area = area.vertical_scroll_offset(y.min(bottom));
    }
    let mut newest_shown = None;
    let mut images = Vec::new();
    let mut mode = std::mem::take(&mut state.compose_mode);
    let mut jump_to = None;
    area.show_viewport(ui, |ui, viewport| {
        ui.set_height(content);
        let origin = ui.max_rect().min;
        // Only the rows that intersect the viewport are laid out.
        let first_page = page_top[1..].partition_point(|&bottom| bottom <= viewport.min.y);
        let mut y = page_top.get(first_page).copied().unwrap_or(content);
        let mut row = first_page * PAGE;
        while row < total && y < viewport.max.y {
            let Some(m) = open.row(row) else {
                if y + ROW_HEIGHT > viewport.min.y {
                    let page = row / PAGE;
                    if open.requested.insert(page) {
                        commands.push(Command::LoadPage(open.id, page));
                    }
                    let rect = egui::Rect::from_min_size(
                        origin + egui::vec2(0.0, y),
                        egui::vec2(width, ROW_HEIGHT),
                    );
                    ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                        ui.weak("...");
                    });
                }
                y += ROW_HEIGHT;
                row += 1;
                continue;
            };
            let context = row_context(open, previews, time, row, m);
            let height = message::row_height(m, &context, width);
            if y + height > viewport.min.y {
                let rect = egui::Rect::from_min_size(
                    origin + egui::vec2(0.0, y),
                    egui::vec2(width, height),
                );
                newest_shown = newest_shown.max(Some(m.id));
                if message::is_image(m) && context.preview.is_none() {
                    images.push(m.id);
                }
                ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                    ui.set_clip_rect(rect.intersect(ui.clip_rect()));
                    message::show(
                        ui,
                        m,
                        &context,
                        &me,
                        time,
                        &mut mode,
                        &mut jump_to,
                        commands,
                    );
                });
            }
            y += height;
            row += 1;
        }
    });
    open.jump_to = jump_to;
    state.compose_mode = mode;
    for image in images {
        state.previews.insert(image, Preview::Loading);
        commands.push(Command::LoadImage(image));
    }
    // What was on screen, with the window focused, is read.
    let focused = ui.ctx().input(|i| i.focused);
    if let (Some(newest), Some(summary), true) = (newest_shown, state.open_summary(), focused)
        && summary.unread > 0
        && newest > summary.conversation.last_read
    {
        commands.push(Command::MarkRead(summary.conversation.id, newest));
    }
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
    match state.compose_mode.clone() {
        ComposeMode::New => {}
        ComposeMode::Reply(_, user, line) => {
            ui.horizontal(|ui| {
                ui.weak(format!("Replying to {user}: {line}"));
                if ui.small_button("Cancel reply").clicked() {
                    state.compose_mode = ComposeMode::New;
                }
            });
        }
        ComposeMode::Edit(message) => {
            ui.horizontal(|ui| {
                ui.weak("Editing your message");
                if ui.small_button("Cancel edit").clicked() {
                    state.compose_mode = ComposeMode::New;
                    state.compose.clear();
                }
            });
            if state.compose.is_empty()
                && let Some(m) = state
                    .open
                    .as_ref()
                    .and_then(|o| o.pages.values().flatten().find(|m| m.id == message))
            {
                state.compose = m.message.body.clone();
            }
        }
    }
    pasted_image(ui, state, id, commands);
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
                    .hint_text("Enter sends, Shift+Enter for a new line; drop a file or paste an image to send it"),
            )
            .labelled_by(label.id);
        if field.changed()
            && !state.compose.is_empty()
            && state
                .typing_sent
                .is_none_or(|at| at.elapsed() >= TYPING_EVERY)
        {
            state.typing_sent = Some(Instant::now());
            commands.push(Command::Typing(id));
        }
        let action = if matches!(state.compose_mode, ComposeMode::Edit(_)) {
            "Save"
        } else {
            "Send"
        };
        let clicked = ui.button(action).clicked();
        if (send_now || clicked) && !state.compose.trim().is_empty() {
            let text = state.compose.trim_end().to_owned();
            commands.push(match std::mem::take(&mut state.compose_mode) {
                ComposeMode::New => Command::Send(id, text, None),
                ComposeMode::Reply(to, _, _) => Command::Send(id, text, Some(to)),
                ComposeMode::Edit(message) => Command::Edit(id, message, text),
            });
            state.compose.clear();
            state.typing_sent = None;
            field.request_focus();
        }
    });
}

/// An image pasted while the conversation is open waits above the compose box, as a
/// thumbnail with Send and Cancel: a paste by mistake must not send a screenshot.
fn pasted_image(
    ui: &mut egui::Ui,
    state: &mut AppState,
    conversation: ConversationId,
    commands: &mut Vec<Command>,
) {
    let pasted = ui.ctx().input(|i| {
        i.events.iter().rev().find_map(|e| match e {
            egui::Event::PasteImage(image) => Some(image.clone()),
            _ => None,
        })
    });
    if let Some(image) = pasted {
        state.pasted = Some(Pasted {
            conversation,
            image,
            texture: None,
        });
    }
    let Some(pasted) = state
        .pasted
        .as_mut()
        .filter(|p| p.conversation == conversation)
    else {
        return;
    };
    let texture = pasted.texture.get_or_insert_with(|| {
        ui.ctx()
            .load_texture("pasted image", (*pasted.image).clone(), Default::default())
    });
    let [width, height] = pasted.image.size;
    let scale = (PASTED_SIDE / width.max(height) as f32).min(1.0);
    let mut send = false;
    let mut cancel = false;
    ui.horizontal(|ui| {
        ui.add(
            egui::Image::new(&*texture)
                .fit_to_exact_size(egui::vec2(width as f32, height as f32) * scale),
        );
        ui.vertical(|ui| {
            ui.label(format!("Pasted image, {width} x {height}"));
            send = ui.button("Send image").clicked();
            cancel = ui.button("Cancel image").clicked();
        });
    });
    if send {
        commands.push(Command::SendImage(conversation, pasted.image.clone()));
    }
    if send || cancel {
        state.pasted = None;
    }
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
