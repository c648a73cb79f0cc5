//! One message as a bubble: the user's own on the right, others' on the left under an
//! initials avatar; the quoted message it answers, its text or file, "edited" and
//! "deleted" marks, reactions as chips, marks for sent, delivered and read; and its context menu
//! (reply, react, edit, delete, copy, save). Event lines (joins, renames) are centred.
//!
//! Heights are computed here, from the same inputs the drawing uses, so that the history's
//! virtualised rows (laid out without measuring text) stay where they are drawn.

use conclave_client::{Annotations, MessageKind, MessageState, Quote, StoredMessage};

use crate::backend::Command;
use crate::local_time::LocalTime;
use crate::state::{ComposeMode, Preview};

/// Height of a bubble's header line (sender, time, ticks).
pub const HEADER: f32 = 17.0;
/// Height of one line of message text.
pub const LINE: f32 = 19.0;
/// Gap below each row.
pub const GAP: f32 = 8.0;
/// Inner margin of a bubble.
const PAD: f32 = 6.0;
/// A file card's height.
const CARD: f32 = 46.0;
/// The avatar's diameter.
const AVATAR: f32 = 26.0;
/// Longer messages show this many lines (the whole text on hover).
pub const MAX_LINES: usize = 12;
/// A narrow estimate of a character's width in the body font, so that estimated line counts
/// err towards too many (a little blank space) rather than too few (clipped text).
pub const CHAR_WIDTH: f32 = 6.2;
/// The reactions offered in the context menu.
pub const QUICK_REACTIONS: [&str; 6] = ["👍", "❤", "😂", "😮", "😢", "🎉"];

/// What a row needs besides the message.
pub struct RowContext<'a> {
    /// Its reactions, read receipts and quote, once loaded.
    pub annotations: Option<&'a Annotations>,
    /// Its image preview, for an image attachment.
    pub preview: Option<&'a Preview>,
    /// Whether the "new messages" line goes above it.
    pub first_unread: bool,
    /// Whether a new day starts with it.
    pub new_day: bool,
}

/// Whether a message is an image the app previews.
pub fn is_image(message: &StoredMessage) -> bool {
    message.message.kind == MessageKind::Attachment
        && message.deleted_at.is_none()
        && message.message.attachment.is_some()
        && attachment_type(message).is_some_and(|t| {
            matches!(
                t.as_str(),
                "image/png" | "image/jpeg" | "image/gif" | "image/webp"
            )
        })
}

fn attachment_type(message: &StoredMessage) -> Option<String> {
    let bytes = message.message.attachment.as_deref()?;
    conclave_client::content::ExternalPart::decode(bytes)
        .ok()
        .map(|p| p.content_type)
}

fn attachment_card(message: &StoredMessage) -> Option<(String, u64)> {
    let bytes = message.message.attachment.as_deref()?;
    conclave_client::content::ExternalPart::decode(bytes)
        .ok()
        .map(|p| (p.filename, p.size))
}

/// The height of a row, from what it shows.
pub fn row_height(message: &StoredMessage, row: &RowContext<'_>, width: f32) -> f32 {
    let mut height = GAP;
    if row.first_unread {
        height += LINE;
    }
    if row.new_day {
        height += LINE;
    }
    if message.message.kind == MessageKind::Event {
        return height + HEADER;
    }
    height += HEADER + 2.0 * PAD;
    if message.message.reply_to.is_some() {
        height += LINE;
    }
    height += if message.deleted_at.is_some() {
        LINE
    } else if message.message.kind == MessageKind::Attachment {
        match row.preview {
            Some(Preview::Texture(t)) if is_image(message) => t.size_vec2().y.min(360.0) + CARD,
            _ if is_image(message) => 200.0 + CARD,
            _ => CARD,
        }
    } else {
        let chars_per_line = ((bubble_width(width) - 2.0 * PAD) / CHAR_WIDTH).max(8.0) as usize;
        let lines: usize = message
            .message
            .body
            .split('\n')
            .map(|line| line.chars().count().div_ceil(chars_per_line).max(1))
            .sum();
        LINE * lines.clamp(1, MAX_LINES) as f32
    };
    if row.annotations.is_some_and(|a| !a.reactions.is_empty()) {
        height += LINE + 6.0;
    }
    height
}

fn bubble_width(width: f32) -> f32 {
    (width * 0.7).clamp(160.0, 640.0)
}

/// Initials for an avatar: the first letters of up to two parts of the name.
pub fn initials(name: &str) -> String {
    let parts: Vec<&str> = name
        .split(['.', '_', '-', ' '])
        .filter(|p| !p.is_empty())
        .collect();
    let letters: String = parts
        .iter()
        .take(2)
        .filter_map(|p| p.chars().next())
        .collect();
    if letters.is_empty() {
        "?".into()
    } else {
        letters.to_uppercase()
    }
}

/// A stable colour per user, for avatars.
fn user_color(name: &str) -> egui::Color32 {
    let hash = name.bytes().fold(5381u32, |h, b| {
        h.wrapping_mul(33).wrapping_add(u32::from(b))
    });
    let hue = (hash % 360) as f32 / 360.0;
    egui::ecolor::Hsva::new(hue, 0.45, 0.55, 1.0).into()
}

/// Draws a row: the separators above it, then the bubble (or event line).
#[allow(clippy::too_many_arguments)]
pub fn show(
    ui: &mut egui::Ui,
    message: &StoredMessage,
    row: &RowContext<'_>,
    me: &str,
    time: &LocalTime,
    compose_mode: &mut ComposeMode,
    jump_to: &mut Option<conclave_client::MessageId>,
    commands: &mut Vec<Command>,
) {
    let m = &message.message;
    let width = ui.available_width();
    ui.spacing_mut().item_spacing.y = 2.0;
    if row.new_day {
        ui.vertical_centered(|ui| {
            ui.label(egui::RichText::new(time.date(m.sent_at)).small().strong());
        });
    }
    if row.first_unread {
        ui.vertical_centered(|ui| {
            ui.colored_label(ui.visuals().warn_fg_color, "New messages");
        });
    }
    if m.kind == MessageKind::Event {
        ui.vertical_centered(|ui| {
            ui.label(
                egui::RichText::new(format!("{} · {}", m.body, time.clock(m.sent_at)))
                    .small()
                    .italics()
                    .weak(),
            );
        });
        return;
    }
    let own = m.sender.user.as_str() == me;
    let layout = if own {
        egui::Layout::right_to_left(egui::Align::Min)
    } else {
        egui::Layout::left_to_right(egui::Align::Min)
    };
    ui.with_layout(layout, |ui| {
        if !own {
            let (rect, _) =
                ui.allocate_exact_size(egui::vec2(AVATAR, AVATAR), egui::Sense::hover());
            ui.painter().circle_filled(
                rect.center(),
                AVATAR / 2.0,
                user_color(m.sender.user.as_str()),
            );
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                initials(m.sender.user.as_str()),
                egui::FontId::proportional(11.0),
                egui::Color32::WHITE,
            );
        }
        let fill = if own {
            ui.visuals().selection.bg_fill.gamma_multiply(0.6)
        } else {
            ui.visuals().faint_bg_color
        };
        let frame = egui::Frame::new()
            .fill(fill)
            .corner_radius(8.0)
            .inner_margin(PAD);
        let response = frame
            .show(ui, |ui| {
                ui.set_max_width(bubble_width(width) - 2.0 * PAD);
                ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| {
                    bubble_contents(ui, message, row, own, time, jump_to, commands);
                });
            })
            .response
            .interact(egui::Sense::click());
        response.context_menu(|ui| context_menu(ui, message, own, compose_mode, commands));
    });
}

fn bubble_contents(
    ui: &mut egui::Ui,
    message: &StoredMessage,
    row: &RowContext<'_>,
    own: bool,
    time: &LocalTime,
    jump_to: &mut Option<conclave_client::MessageId>,
    commands: &mut Vec<Command>,
) {
    let m = &message.message;
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new(m.sender.user.as_str()).small().strong());
        ui.label(egui::RichText::new(time.clock(m.sent_at)).small().weak())
            .on_hover_text(time.utc(m.sent_at));
        if message.edited_at.is_some() && message.deleted_at.is_none() {
            let earlier: Vec<String> = row
                .annotations
                .map(|a| a.versions.iter().map(|v| format!("- {}", v.body)).collect())
                .unwrap_or_default();
            ui.label(egui::RichText::new("edited").small().italics().weak())
                .on_hover_text(format!("Earlier:\n{}", earlier.join("\n")));
        }
        if m.expires_at.is_some() {
            ui.label(egui::RichText::new("disappearing").small().weak())
                .on_hover_text("deleted from every device when its time is up");
        }
        if own {
            let read = row.annotations.is_some_and(|a| !a.read_by.is_empty());
            let delivered = row.annotations.is_some_and(|a| !a.delivered_to.is_empty());
            let (ticks, why) = match m.state {
                MessageState::Pending => ("sending", "waiting to be sent".to_owned()),
                MessageState::Failed => ("failed", "could not be sent".to_owned()),
                _ if read => (
                    "read",
                    format!(
                        "read by {}",
                        row.annotations
                            .map(|a| a.read_by.join(", "))
                            .unwrap_or_default()
                    ),
                ),
                _ if delivered => (
                    "delivered",
                    format!(
                        "received by {}",
                        row.annotations
                            .map(|a| a.delivered_to.join(", "))
                            .unwrap_or_default()
                    ),
                ),
                _ => (
                    "sent",
                    "on the server, for everyone in the conversation".to_owned(),
                ),
            };
            ui.label(egui::RichText::new(ticks).small())
                .on_hover_text(why);
        }
    });
    if m.reply_to.is_some() {
        let quote = row.annotations.and_then(|a| a.reply.clone());
        let text = match &quote {
            Some(Quote::Message {
                user,
                body,
                deleted: false,
                ..
            }) => format!("> {user}: {}", first_line(body)),
            Some(Quote::Message { user, .. }) => format!("> {user}: message deleted"),
            _ => "> message not available".to_owned(),
        };
        let link = ui.add(
            egui::Label::new(egui::RichText::new(text).small().italics())
                .sense(egui::Sense::click()),
        );
        if let Some(Quote::Message { id, .. }) = quote
            && link.clicked()
        {
            *jump_to = Some(id);
        }
    }
    if message.deleted_at.is_some() {
        ui.label(
            egui::RichText::new("This message was deleted")
                .italics()
                .weak(),
        );
    } else if m.kind == MessageKind::Attachment {
        attachment(ui, message, row, commands);
    } else {
        let body = match m.kind {
            MessageKind::Unsupported => egui::RichText::new(&m.body).italics(),
            _ => egui::RichText::new(&m.body),
        };
        let body = if m.state == MessageState::Failed {
            body.color(ui.visuals().error_fg_color)
        } else {
            body
        };
        ui.add(egui::Label::new(body).wrap()).on_hover_text(&m.body);
    }
    if let Some(a) = row.annotations.filter(|a| !a.reactions.is_empty()) {
        ui.horizontal_wrapped(|ui| {
            // One chip per emoji, with its count; the names on hover.
            let mut chips: Vec<(&str, Vec<&str>)> = Vec::new();
            for (user, emoji) in &a.reactions {
                match chips.iter_mut().find(|(e, _)| e == emoji) {
                    Some((_, users)) => users.push(user),
                    None => chips.push((emoji, vec![user])),
                }
            }
            for (emoji, users) in chips {
                let chip = egui::Button::new(format!("{emoji} {}", users.len())).small();
                ui.add(chip).on_hover_text(users.join(", "));
            }
        });
    }
}

fn attachment(
    ui: &mut egui::Ui,
    message: &StoredMessage,
    row: &RowContext<'_>,
    commands: &mut Vec<Command>,
) {
    let Some((name, size)) = attachment_card(message) else {
        ui.label(egui::RichText::new("an attachment this version cannot read").italics());
        return;
    };
    if is_image(message) {
        match row.preview {
            Some(Preview::Texture(texture)) => {
                let size = texture.size_vec2();
                let scale = (360.0 / size.y).min(1.0);
                ui.add(egui::Image::new((texture.id(), size * scale)));
            }
            Some(Preview::Failed(why)) => {
                ui.label(
                    egui::RichText::new(format!("no preview: {why}"))
                        .small()
                        .weak(),
                );
            }
            _ => {
                ui.add_sized([200.0, 196.0], egui::Spinner::new());
            }
        }
    }
    ui.horizontal(|ui| {
        ui.label(format!("File: {name}"));
        ui.label(egui::RichText::new(human_size(size)).small().weak());
        if ui.button("Save").clicked() {
            commands.push(Command::SaveAttachment(message.id, name.clone()));
        }
    });
}

fn context_menu(
    ui: &mut egui::Ui,
    message: &StoredMessage,
    own: bool,
    compose_mode: &mut ComposeMode,
    commands: &mut Vec<Command>,
) {
    let m = &message.message;
    if message.deleted_at.is_some() {
        ui.weak("Deleted");
        return;
    }
    if ui.button("Reply").clicked() {
        *compose_mode =
            ComposeMode::Reply(message.id, m.sender.user.to_string(), first_line(&m.body));
        ui.close();
    }
    ui.horizontal(|ui| {
        for emoji in QUICK_REACTIONS {
            if ui
                .button(emoji)
                .on_hover_text(format!("React {emoji}"))
                .clicked()
            {
                commands.push(Command::React(
                    m.conversation,
                    message.id,
                    emoji.to_owned(),
                    false,
                ));
                ui.close();
            }
        }
    });
    if ui.button("Copy text").clicked() {
        ui.ctx().copy_text(m.body.clone());
        ui.close();
    }
    if m.kind == MessageKind::Attachment
        && let Some((name, _)) = attachment_card(message)
        && ui.button("Save attachment").clicked()
    {
        commands.push(Command::SaveAttachment(message.id, name));
        ui.close();
    }
    if own {
        ui.separator();
        if m.kind == MessageKind::Text && ui.button("Edit").clicked() {
            *compose_mode = ComposeMode::Edit(message.id);
            ui.close();
        }
        if ui.button("Delete for everyone").clicked() {
            commands.push(Command::Delete(m.conversation, message.id));
            ui.close();
        }
    }
}

/// The first line of a text, at most 60 characters.
pub fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 60 {
        format!("{}...", line.chars().take(60).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// "12 KB", "3.4 MB".
pub fn human_size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{} KB", bytes / 1_000),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_and_sizes_read_well() {
        assert_eq!(initials("alice"), "A");
        assert_eq!(initials("bob.jones"), "BJ");
        assert_eq!(initials("--"), "?");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(12_345), "12 KB");
        assert_eq!(human_size(3_400_000), "3.4 MB");
        assert_eq!(first_line("a\nb"), "a");
    }
}
