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
        let i_am_admin = state.members.iter().any(|m| m.is_me && m.admin);
        let mut roles_shown = std::collections::HashSet::new();
        for member in state.members.clone() {
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
            if !member.is_me {
                ui.collapsing(format!("Safety number with {}", member.id.user), |ui| {
                    ui.monospace(digit_groups(&member.safety_number));
                    ui.weak("Compare with theirs in person or on a call.");
                });
                ui.horizontal(|ui| {
                    if !member.verified && ui.button(format!("Verify {}", member.id.user)).clicked()
                    {
                        commands.push(Command::Verify(id, member.id.user.to_string()));
                    }
                    // Removing others and roles are for admins (the group's policy; every
                    // member's client checks it too).
                    if i_am_admin && ui.button(format!("Remove {}", member.id.user)).clicked() {
                        commands.push(Command::Remove(id, member.id.user.to_string()));
                    }
                });
                // A role is the user's, whichever of their devices it is shown by.
                if i_am_admin && roles_shown.insert(member.id.user.clone()) {
                    let user = member.id.user.to_string();
                    let (label, admin) = if member.admin {
                        (format!("Remove {user} as admin"), false)
                    } else {
                        (format!("Make {user} admin"), true)
                    };
                    if ui.button(label).clicked() {
                        commands.push(Command::SetAdmin(id, user, admin));
                    }
                }
            }
            ui.add_space(4.0);
        }
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
        if i_am_admin {
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
