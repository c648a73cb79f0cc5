//! The official MLS interop vectors and Conclave's own pass through Conclave; a flipped byte
//! in a vector makes the check fail.

use conclave_testvectors::passive::{self, Mode, PassiveClientVector};
use conclave_testvectors::{FileReport, check_dir, check_file, conclave_dir, official_dir};

#[test]
fn official_vectors_pass() {
    let Some(dir) = official_dir() else {
        // CI must have them; elsewhere they are optional (see testvectors/README.md).
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "official MLS test vectors not found and CI=true: set MLS_TEST_VECTORS"
        );
        eprintln!("official MLS test vectors not found; set MLS_TEST_VECTORS to run them");
        return;
    };
    let report = check_dir(&dir);
    println!("{}", report.table());
    assert_eq!(report.failed(), 0, "{}", report.table());
    // Every official file is checked, and every case of it runs, in all seven ciphersuites:
    // nothing is left "not run".
    for name in [
        "passive-client-welcome.json",
        "passive-client-handling-commit.json",
        "passive-client-random.json",
        "crypto-basics.json",
        "messages.json",
        "deserialization.json",
        "welcome.json",
        "tree-validation.json",
        "tree-math.json",
        "psk_secret.json",
        "secret-tree.json",
        "key-schedule.json",
        "transcript-hashes.json",
        "message-protection.json",
        "tree-operations.json",
        "treekem.json",
    ] {
        let file = report
            .files
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(file.passed > 0, "{name}: nothing passed");
        assert_eq!(file.passed, file.cases, "{name}: {:?}", file.not_run);
    }
    assert_eq!(
        report
            .files
            .values()
            .map(|f| f.not_run_count())
            .sum::<usize>(),
        0
    );
}

#[test]
fn conclave_vectors_pass_completely() {
    let report = check_dir(&conclave_dir());
    println!("{}", report.table());
    assert_eq!(report.files.len(), 3, "every generated file is committed");
    for (name, file) in &report.files {
        assert!(file.cases > 0, "{name} is empty");
        assert_eq!(file.passed, file.cases, "{name}: {:?}", file.failures);
    }
}

fn conclave_handling_commit() -> Vec<PassiveClientVector> {
    let path = conclave_dir().join("conclave-passive-client-handling-commit.json");
    conclave_testvectors::read(&path).unwrap()
}

#[test]
fn a_flipped_byte_in_a_commit_fails_the_check() {
    let mut vector = conclave_handling_commit().remove(0);
    passive::run(&vector, Mode::OneStore).expect("the untouched vector passes");
    let commit = &mut vector.epochs[1].commit;
    let middle = commit.len() / 2;
    commit[middle] ^= 0x01;
    let err = passive::run(&vector, Mode::OneStore).expect_err("a flipped byte must fail");
    assert!(err.contains("epoch 1"), "{err}");
}

#[test]
fn a_flipped_byte_in_an_expected_value_fails_the_check() {
    let mut vector = conclave_handling_commit().remove(1);
    let last = vector.epochs.len() - 1;
    vector.epochs[last].epoch_authenticator[0] ^= 0x80;
    let err = passive::run(&vector, Mode::ReopenEachEpoch).expect_err("must fail");
    assert!(err.contains("epoch authenticator"), "{err}");
}

/// The official file `name`, edited by `edit`, checked: `None` without the official vectors
/// (which CI must have).
fn check_edited(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Option<FileReport> {
    let Some(dir) = official_dir() else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "vectors missing under CI"
        );
        return None;
    };
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let mut cases: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut cases);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(name);
    std::fs::write(&path, cases.to_string()).unwrap();
    Some(check_file(&path, name))
}

/// A hex string in `value` with its first digit changed.
fn flip_hex(value: &mut serde_json::Value) {
    let hex = value.as_str().unwrap();
    let first = if hex.starts_with('0') { '1' } else { '0' };
    *value = serde_json::Value::String(format!("{first}{}", &hex[1..]));
}

/// `report` failed exactly one case, the one that starts with `case`.
fn failed_only(report: &FileReport, case: &str) {
    assert_eq!(report.failed(), 1, "{:?}", report.failures);
    assert!(
        report.failures[0].starts_with(case),
        "{:?}",
        report.failures
    );
}

#[test]
fn a_flipped_byte_in_an_official_file_fails_its_row() {
    let Some(report) = check_edited("crypto-basics.json", |cases| {
        flip_hex(&mut cases[0]["ref_hash"]["out"]);
    }) else {
        return;
    };
    assert_eq!(report.failed(), 1, "{:?}", report.failures);
    assert!(report.failures[0].contains("ref_hash"));
}

/// The tree-math runner is openmls's own (`openmls::kats`), run on the vendored copy: a
/// wrong sibling in one case fails that case alone.
#[test]
fn a_wrong_index_in_tree_math_fails_its_case() {
    let mut count = 0;
    let Some(report) = check_edited("tree-math.json", |cases| {
        count = cases.as_array().unwrap().len();
        let sibling = &mut cases[3]["sibling"][0];
        *sibling = serde_json::json!(sibling.as_u64().unwrap() + 2);
    }) else {
        return;
    };
    assert_eq!(report.cases, count);
    failed_only(&report, "case 3:");
    assert!(
        report.failures[0].contains("Sibling"),
        "{:?}",
        report.failures
    );
}

/// The PSK secret is derived by openmls's key schedule code (`openmls::kats`): a flipped
/// expected secret fails that case alone.
#[test]
fn a_flipped_psk_secret_fails_its_case() {
    let Some(report) = check_edited("psk_secret.json", |cases| {
        flip_hex(&mut cases[1]["psk_secret"]);
    }) else {
        return;
    };
    failed_only(&report, "case 1:");
}

/// The secret tree is openmls's (with Conclave's patch to how it is stored): a flipped
/// handshake nonce of the last leaf's last generation fails that case alone.
#[test]
fn a_flipped_nonce_in_the_secret_tree_fails_its_case() {
    let Some(report) = check_edited("secret-tree.json", |cases| {
        let leaves = cases[2]["leaves"].as_array_mut().unwrap();
        let generations = leaves.last_mut().unwrap().as_array_mut().unwrap();
        flip_hex(&mut generations.last_mut().unwrap()["handshake_nonce"]);
    }) else {
        return;
    };
    failed_only(&report, "case 2:");
}

#[test]
fn a_flipped_secret_in_the_second_epoch_fails_its_key_schedule_case() {
    let Some(report) = check_edited("key-schedule.json", |cases| {
        flip_hex(&mut cases[1]["epochs"][1]["resumption_psk"]);
    }) else {
        return;
    };
    failed_only(&report, "case 1: epoch 1: resumption_psk differs");
}

#[test]
fn a_changed_transcript_fails_its_case() {
    let Some(report) = check_edited("transcript-hashes.json", |cases| {
        flip_hex(&mut cases[0]["interim_transcript_hash_before"]);
        let content = &mut cases[2]["authenticated_content"];
        let mut hex = content.as_str().unwrap().to_owned();
        // The last byte is the confirmation tag's.
        let last = if hex.ends_with('0') { "1" } else { "0" };
        hex.replace_range(hex.len() - 1.., last);
        *content = serde_json::Value::String(hex);
    }) else {
        return;
    };
    assert_eq!(report.failed(), 2, "{:?}", report.failures);
    assert!(report.failures[0].starts_with("case 0: the commit's confirmation tag differs"));
    assert!(report.failures[1].starts_with("case 2: the commit's confirmation tag differs"));
}

#[test]
fn a_wrong_membership_tag_or_signature_key_fails_its_protection_case() {
    let Some(report) = check_edited("message-protection.json", |cases| {
        // The last byte of a PublicMessage is its membership tag's.
        let commit = &mut cases[1]["commit_pub"];
        let mut hex = commit.as_str().unwrap().to_owned();
        let last = if hex.ends_with('0') { "1" } else { "0" };
        hex.replace_range(hex.len() - 1.., last);
        *commit = serde_json::Value::String(hex);
        let other_key = cases[0]["signature_pub"].clone();
        cases[2]["signature_pub"] = other_key;
    }) else {
        return;
    };
    assert_eq!(report.failed(), 2, "{:?}", report.failures);
    assert!(
        report.failures[0].starts_with("case 1: commit_pub: membership tag"),
        "{:?}",
        report.failures
    );
    assert!(
        report.failures[1].starts_with("case 2: proposal_pub: signature"),
        "{:?}",
        report.failures
    );
}

#[test]
fn a_wrong_tree_hash_or_resolution_fails_its_tree_case() {
    let Some(report) = check_edited("tree-validation.json", |cases| {
        flip_hex(&mut cases[3]["tree_hashes"][2]);
        cases[4]["resolutions"][0] = serde_json::json!([2]);
    }) else {
        return;
    };
    assert_eq!(report.failed(), 2, "{:?}", report.failures);
    assert!(
        report.failures[0].starts_with("case 3 tree hashes: node 2: the tree hash differs"),
        "{:?}",
        report.failures
    );
    assert!(
        report.failures[1].starts_with("case 4 resolutions: node 0: the resolution differs"),
        "{:?}",
        report.failures
    );
}

#[test]
fn a_wrong_tree_after_a_proposal_fails_its_case() {
    let Some(report) = check_edited("tree-operations.json", |cases| {
        flip_hex(&mut cases[1]["tree_hash_after"]);
    }) else {
        return;
    };
    failed_only(&report, "case 1: tree_hash_after differs");
}

#[test]
fn a_wrong_commit_secret_or_path_secret_fails_its_treekem_case() {
    let Some(report) = check_edited("treekem.json", |cases| {
        flip_hex(&mut cases[0]["update_paths"][0]["commit_secret"]);
        let secrets = cases[1]["update_paths"][0]["path_secrets"]
            .as_array_mut()
            .unwrap();
        let some = secrets.iter_mut().find(|s| !s.is_null()).unwrap();
        flip_hex(some);
    }) else {
        return;
    };
    assert_eq!(report.failed(), 2, "{:?}", report.failures);
    assert!(
        report.failures[0].starts_with("case 0: path 0")
            && report.failures[0].ends_with("the commit secret differs"),
        "{:?}",
        report.failures
    );
    assert!(
        report.failures[1].starts_with("case 1: path 0")
            && report.failures[1].ends_with("the path secret differs"),
        "{:?}",
        report.failures
    );
}

#[test]
fn a_welcome_signed_by_another_key_fails_its_group_info_case() {
    let Some(report) = check_edited("welcome.json", |cases| {
        let other_key = cases[0]["signer_pub"].clone();
        cases[1]["signer_pub"] = other_key;
    }) else {
        return;
    };
    failed_only(&report, "case 1 group info: GroupInfo signature");
}

#[test]
fn a_private_structure_with_a_trailing_byte_fails_its_case() {
    let Some(report) = check_edited("messages.json", |cases| {
        let secrets = cases[3]["group_secrets"].as_str().unwrap().to_owned();
        cases[3]["group_secrets"] = serde_json::Value::String(secrets + "00");
    }) else {
        return;
    };
    failed_only(&report, "case 3 group_secrets: decode");
}

#[test]
fn freshly_generated_vectors_pass_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let written = conclave_testvectors::generate::write_all(dir.path()).unwrap();
    assert_eq!(written.len(), 3);
    let report = check_dir(dir.path());
    assert_eq!(report.files.len(), 3);
    for (name, file) in &report.files {
        assert!(file.cases > 0, "{name} is empty");
        assert_eq!(file.passed, file.cases, "{name}: {:?}", file.failures);
    }
}

/// Conclave's content vectors are what the generator makes now (so a change of the encoding
/// shows as a changed file), and a flipped byte fails.
#[test]
fn content_vectors_match_the_generator_and_catch_a_flipped_byte() {
    use conclave_testvectors::content::{self, ContentVector};
    let path = conclave_dir().join("conclave-mimi-content.json");
    let committed: Vec<ContentVector> = conclave_testvectors::read(&path).unwrap();
    let generated = content::vectors();
    assert_eq!(
        serde_json::to_value(&committed).unwrap(),
        serde_json::to_value(&generated).unwrap()
    );
    let mut bad = committed[1].clone();
    let last = bad.encoded.len() - 1;
    bad.encoded[last] ^= 0x01;
    assert!(content::run(&bad).is_err());
    let mut bad = committed[2].clone();
    bad.message_id[5] ^= 0x01;
    assert!(content::run(&bad).is_err());
}
