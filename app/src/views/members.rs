//! The members panel: who is in the conversation and who of them is an admin, their safety
//! numbers and verified marks, invite / remove / rename / leave, admins making and unmaking
//! admins, the invite link (text and QR) and requests to join by it, "Rejoin" where this
//! device could not get back in by itself, and the group's security state.

use conclave_client::display::{digit_groups, timestamp};

use crate::backend::Command;
use crate::state::AppState;

/// Draws the members panel of the open conversation.
pub fn show(ui: &mut egui::Ui, state: &mut AppState, commands: &mut Vec<Command>) {
    let Some(summary) = state.open_summary().cloned() else {
        return;
    };
    let id = summary.conversation.id;
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.heading("Members");
        if summary.conversation.left_at.is_some() {
            ui.weak("You left this conversation.");
            return;
        }
        if let Some(needed) = state.rejoin_needed.get(&id).cloned() {
            let warning = egui::Color32::from_rgb(200, 120, 40);
            if needed.asked {
                ui.colored_label(
                    warning,
                    "This device's key of the conversation is out of date (restored from an \
                     older backup, say). It asked the other members for the current one and \
                     rejoins by itself once one of them is online.",
                );
            } else {
                ui.colored_label(
                    warning,
                    format!(
                        "This device fell out of step with the conversation: {}",
                        needed.reason
                    ),
                );
                if ui.button("Rejoin").clicked() {
                    commands.push(Command::Rejoin(id));
                }
            }
            ui.separator();
        }
        member_list(ui, state, id, commands);
        ui.separator();
        ui.horizontal(|ui| {
            let label = ui.label("Invite user");
            ui.add(egui::TextEdit::singleline(&mut state.forms.invite).desired_width(120.0))
                .labelled_by(label.id);
            if ui.button("Invite").clicked() && !state.forms.invite.trim().is_empty() {
                commands.push(Command::Invite(id, state.forms.invite.trim().to_owned()));
                state.forms.invite.clear();
            }
        });
        if state.members.iter().any(|m| m.is_me && m.admin) {
            rules(ui, state, id, commands);
        }
        invite_link(ui, state, id, commands);
        ui.horizontal(|ui| {
            let label = ui.label("New name");
            ui.add(egui::TextEdit::singleline(&mut state.forms.rename).desired_width(120.0))
                .labelled_by(label.id);
            if ui.button("Rename").clicked() && !state.forms.rename.trim().is_empty() {
                commands.push(Command::Rename(id, state.forms.rename.trim().to_owned()));
                state.forms.rename.clear();
            }
        });
        if summary.conversation.leave_requested {
            ui.weak("Leaving: waiting for a member to commit it.");
        } else if ui.button("Leave conversation").clicked() {
            commands.push(Command::Leave(id));
        }

        ui.separator();
        ui.heading("Security");
        if let Some(security) = &state.security {
            egui::Grid::new("security").num_columns(2).show(ui, |ui| {
                // The short name here; the suite's full name below, wrapped: the panel
                // keeps its width.
                ui.label("Ciphersuite");
                let suite = security.suite;
                let draft = if suite.is_draft() { ", draft" } else { "" };
                ui.label(format!(
                    "0x{:04X} ({}{draft})",
                    suite.code_point(),
                    suite.short_name()
                ))
                .on_hover_text(suite_note(suite));
                ui.end_row();
                ui.label("Epoch");
                ui.label(security.epoch.to_string());
                ui.end_row();
                ui.label("Epoch authenticator");
                ui.monospace(
                    &security.epoch_authenticator[..16.min(security.epoch_authenticator.len())],
                )
                .on_hover_text(&security.epoch_authenticator);
                ui.end_row();
                ui.label("Your last key rotation");
                ui.label(if security.last_rotation > 0 {
                    format!("{} UTC", timestamp(security.last_rotation))
                } else {
                    "at join".to_owned()
                });
                ui.end_row();
            });
            ui.add(egui::Label::new(egui::RichText::new(&security.ciphersuite).small()).wrap());
            if security.suite.is_post_quantum() {
                ui.add(
                    egui::Label::new(
                        "Post-quantum key exchange (X-Wing): recorded messages stay secret from a \
                         future quantum computer. Signatures stay Ed25519.",
                    )
                    .wrap(),
                );
            }
            if ui.button("Rotate my keys now").clicked() {
                commands.push(Command::RotateKeys(id));
            }
        }
    });
}

/// "Who may do what", for admins: a box per action that admins alone may take.
fn rules(
    ui: &mut egui::Ui,
    state: &AppState,
    id: conclave_client::ConversationId,
    commands: &mut Vec<Command>,
) {
    use conclave_client::{Action, Role};
    let Some(policy) = &state.policy else {
        return;
    };
    ui.separator();
    ui.label("Who may do what");
    for (action, label) in [
        (Action::Add, "Only admins add people"),
        (Action::Remove, "Only admins remove others"),
        (Action::Rename, "Only admins rename"),
        (Action::Links, "Only admins manage invite links"),
    ] {
        let mut admins_only = policy.role_for(action) == Role::Admin;
        // An id of its own: the member list above it changes while the panel is shown.
        let changed = ui
            .push_id(label, |ui| ui.checkbox(&mut admins_only, label).changed())
            .inner;
        if changed {
            let role = if admins_only {
                Role::Admin
            } else {
                Role::Member
            };
            commands.push(Command::SetRules(id, action, role));
        }
    }
}

/// The invite link: shown as text and QR with "Copy link" and "Revoke link" while one is
/// open, with the requests to join waiting for an answer; "Create invite link" otherwise.
/// Who may manage links is the group's policy; the client refuses others with the reason.
fn invite_link(
    ui: &mut egui::Ui,
    state: &mut AppState,
    id: conclave_client::ConversationId,
    commands: &mut Vec<Command>,
) {
    ui.separator();
    match state.invite_link.clone() {
        Some((link, approval)) => {
            ui.label(if approval {
                "Invite link (an admin approves each join):"
            } else {
                "Invite link (anyone with it can join):"
            });
            ui.add(
                egui::TextEdit::singleline(&mut link.as_str())
                    .desired_width(f32::INFINITY)
                    .font(egui::TextStyle::Monospace),
            );
            super::devices::qr_code(ui, &link);
            ui.horizontal(|ui| {
                if ui.button("Copy link").clicked() {
                    ui.ctx().copy_text(link.clone());
                }
                if ui.button("Revoke link").clicked() {
                    commands.push(Command::RevokeLink(id));
                }
            });
            for user in state.join_requests.clone() {
                ui.horizontal(|ui| {
                    ui.label(format!("{user} asks to join"));
                    if ui.button(format!("Approve {user}")).clicked() {
                        commands.push(Command::AnswerJoin(id, user.clone(), true));
                    }
                    if ui.button(format!("Decline {user}")).clicked() {
                        commands.push(Command::AnswerJoin(id, user.clone(), false));
                    }
                });
            }
        }
        None => {
            ui.horizontal(|ui| {
                if ui.button("Create invite link").clicked() {
                    commands.push(Command::CreateLink(id, state.forms.link_approval));
                }
                ui.checkbox(&mut state.forms.link_approval, "Approve each join");
            });
        }
    }
}

/// What the security panel says of a suite when the pointer rests on its name.
fn suite_note(suite: conclave_client::CipherSuite) -> &'static str {
    if suite.is_post_quantum() {
        "A draft suite (draft-ietf-mls-pq-ciphersuites): its key exchange, X-Wing, combines \
         ML-KEM-768 with X25519, so recorded messages stay secret from a future quantum \
         computer unless both break. Signatures stay Ed25519: it does not protect against a \
         future forger."
    } else {
        "An RFC 9420 ciphersuite: key exchange, encryption, hash, signatures."
    }
}

/// The members as a list drawn row by row as they scroll into view (a conversation may have
/// thousands), with a search field once there are more than a screenful, and the safety
/// number of the member picked below it.
fn member_list(
    ui: &mut egui::Ui,
    state: &mut AppState,
    id: conclave_client::ConversationId,
    commands: &mut Vec<Command>,
) {
    let i_am_admin = state.members.iter().any(|m| m.is_me && m.admin);
    if state.members.len() > SEARCH_FROM {
        ui.horizontal(|ui| {
            let label = ui.label("Find member");
            ui.add(egui::TextEdit::singleline(&mut state.forms.member_search).desired_width(140.0))
                .labelled_by(label.id);
        });
    }
    let query = if state.members.len() > SEARCH_FROM {
        state.forms.member_search.as_str()
    } else {
        ""
    };
    let rows = state.member_filter.rows(&state.members, query);
    if rows.len() < state.members.len() {
        ui.weak(format!("{} of {} members", rows.len(), state.members.len()));
    }
    // Two lines a member: who, then what can be done.
    let line = ui.spacing().interact_size.y;
    let row_height = 2.0 * line + ui.spacing().item_spacing.y;
    let members = &state.members;
    let safety_number_of = &mut state.forms.safety_number_of;
    egui::ScrollArea::vertical()
        .id_salt("member-list")
        .max_height(12.0 * row_height)
        .auto_shrink([false, true])
        .show_rows(ui, row_height, rows.len(), |ui, range| {
            for &(index, first_of_user) in &rows[range] {
                let member = &members[index];
                ui.allocate_ui(egui::vec2(ui.available_width(), row_height), |ui| {
                    ui.set_min_height(row_height);
                    member_row(
                        ui,
                        member,
                        id,
                        i_am_admin && first_of_user,
                        i_am_admin,
                        safety_number_of,
                        commands,
                    );
                });
            }
        });
    if let Some((member, number)) = &state.forms.safety_number_of {
        ui.group(|ui| {
            ui.label(format!("Safety number with {member}"));
            ui.monospace(digit_groups(number));
            ui.weak("Compare with theirs in person or on a call.");
        });
    }
}

/// Above this many members, the panel offers a search field.
const SEARCH_FROM: usize = 12;

/// One member's two lines.
fn member_row(
    ui: &mut egui::Ui,
    member: &conclave_client::Member,
    id: conclave_client::ConversationId,
    show_role: bool,
    i_am_admin: bool,
    safety_number_of: &mut Option<(String, String)>,
    commands: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        let name = if member.is_me {
            format!("{} (you)", member.id)
        } else {
            member.id.to_string()
        };
        ui.strong(name);
        if member.admin {
            ui.label(egui::RichText::new("admin").small().strong());
        }
        if member.verified {
            ui.colored_label(egui::Color32::from_rgb(60, 170, 90), "verified");
        }
    });
    if member.is_me {
        return;
    }
    let user = member.id.user.to_string();
    ui.horizontal(|ui| {
        let name = member.id.to_string();
        let shown = safety_number_of
            .as_ref()
            .is_some_and(|(who, _)| *who == name);
        if ui
            .selectable_label(shown, "Safety number")
            .on_hover_text(format!("Safety number with {name}"))
            .clicked()
        {
            *safety_number_of = (!shown).then(|| (name, member.safety_number()));
        }
        if !member.verified && ui.button(format!("Verify {user}")).clicked() {
            commands.push(Command::Verify(id, user.clone()));
        }
        // Removing others and roles are for admins (the group's policy; every member's
        // client checks it too).
        if i_am_admin && ui.button(format!("Remove {user}")).clicked() {
            commands.push(Command::Remove(id, user.clone()));
        }
        // A role is the user's, shown by the first of their devices.
        if show_role {
            let (label, admin) = if member.admin {
                (format!("Remove {user} as admin"), false)
            } else {
                (format!("Make {user} admin"), true)
            };
            if ui.button(label).clicked() {
                commands.push(Command::SetAdmin(id, user, admin));
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use conclave_client::{Conversation, ConversationId, ConversationSummary, Member, MessageId};
    use conclave_protocol::{DeviceId, GroupId, MemberId, UserName};
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    use crate::state::{AppState, OpenConversation};

    /// The open conversation has `n` members, this device (an admin) first.
    fn state_with(n: usize) -> AppState {
        let id = ConversationId(1);
        let conversation = Conversation {
            id,
            group_id: GroupId::from_bytes(vec![1; 16]),
            name: "Everyone".into(),
            created_at: 0,
            last_read: MessageId(0),
            archived: false,
            left_at: None,
            leave_requested: false,
            last_rotation: 0,
            request: false,
            disappear_after: 0,
        };
        let id_of = |i: usize| {
            MemberId::new(
                UserName::new(format!("user{i}")).unwrap(),
                DeviceId::new("d").unwrap(),
            )
        };
        let mine = conclave_protocol::Fingerprint::of(&id_of(0), &[0; 32]);
        let members = (0..n)
            .map(|i| {
                let mut member = Member::new(id_of(i), (i as u64).to_be_bytes().repeat(4), mine);
                member.is_me = i == 0;
                member.admin = i == 0;
                member
            })
            .collect();
        let mut state = AppState::default();
        state.conversations = vec![ConversationSummary {
            conversation,
            last_message: None,
            unread: 0,
        }];
        state.members = members;
        state.open = Some(OpenConversation {
            id,
            total: 0,
            pages: Default::default(),
            requested: Default::default(),
            scroll_to_bottom: false,
            annotations: Default::default(),
            read_mark: MessageId(0),
            jump_to: None,
        });
        state
    }

    /// 5,000 members: only the rows in view are laid out, the search finds any member, and
    /// a member's safety number shows on demand.
    #[test]
    fn thousands_of_members_are_drawn_as_they_scroll_into_view_and_found_by_search() {
        let mut harness = Harness::builder().with_size([360.0, 900.0]).build_ui_state(
            |ui, state: &mut AppState| super::show(ui, state, &mut Vec::new()),
            state_with(5_000),
        );
        harness.run();
        assert!(harness.query_by_label("Remove user1").is_some());
        assert!(harness.query_by_label("Remove user4999").is_none());
        let rows = harness.query_all_by_label_contains("Remove user").count();
        assert!((1..=20).contains(&rows), "{rows} rows laid out");

        harness.get_by_label("Find member").focus();
        harness.run();
        harness.get_by_label("Find member").type_text("user4999");
        harness.run();
        assert!(harness.query_by_label("Remove user4999").is_some());
        assert!(harness.query_by_label("Remove user1").is_none());
        assert!(harness.query_by_label("1 of 5000 members").is_some());

        harness.get_by_label("Safety number").click();
        harness.run();
        let number = harness.state().members[4999].safety_number();
        let digits = conclave_client::display::digit_groups(&number);
        assert!(harness.query_by_label(&digits).is_some());
    }

    /// The list emptied under the panel (the conversation left while open, or closed and
    /// opened again before its members arrive) draws no stale row: it once indexed past
    /// the members and panicked.
    #[test]
    fn an_emptied_member_list_draws_no_stale_rows() {
        let mut harness = Harness::builder().with_size([360.0, 900.0]).build_ui_state(
            |ui, state: &mut AppState| super::show(ui, state, &mut Vec::new()),
            state_with(50),
        );
        harness.run();
        assert!(harness.query_by_label("Remove user1").is_some());
        harness.state_mut().members.clear();
        harness.run();
        assert!(harness.query_by_label("Remove user1").is_none());
    }
}
