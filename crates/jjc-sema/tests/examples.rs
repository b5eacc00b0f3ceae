//! The seed guide's four extractors check clean and define exactly the seed's features.

use std::path::PathBuf;

use jjc_sema::{FileOrigin, Library, Sources};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../features/examples")
}

#[test]
fn seed_examples_check_clean_with_the_seed_feature_names() {
    let files: Vec<PathBuf> = [
        "my_features",
        "payload_patterns",
        "adv_timing",
        "game_traffic",
    ]
    .iter()
    .map(|n| examples().join(format!("{n}.jjf")))
    .collect();
    let (lib, diags) = Library::load(&Sources {
        files,
        features_dirs: vec![],
        use_env: false,
    });
    let rendered: Vec<String> = diags
        .iter()
        .map(|d| jjc_syntax::render_human(d, &lib.sources, false))
        .collect();
    assert!(diags.is_empty(), "{}", rendered.join("\n"));
    let expected: &[(&str, &[&str])] = &[
        (
            "my_features",
            &["my_packet_count", "my_byte_count", "my_duration"],
        ),
        (
            "payload_patterns",
            &[
                "has_http_request",
                "has_http_response",
                "has_ssh_banner",
                "has_smtp_greeting",
                "first_payload_bytes",
            ],
        ),
        (
            "adv_timing",
            &[
                "adv_iat_mean",
                "adv_iat_std",
                "adv_iat_skew",
                "adv_iat_kurtosis",
                "adv_burst_count",
                "adv_burst_ratio",
            ],
        ),
        (
            "game_traffic",
            &[
                "is_game_traffic",
                "game_type",
                "game_pps",
                "game_avg_pkt_size",
                "game_pkt_size_variance",
            ],
        ),
    ];
    for (group, features) in expected {
        let g = lib.program.group_by_name(group).expect(group);
        let names: Vec<String> = lib
            .program
            .columns(&[g])
            .into_iter()
            .map(|(c, _)| c.name)
            .collect();
        assert_eq!(names, *features, "{group}");
    }
    // Their tests, beside the standard library's.
    let seed_files: Vec<_> = lib
        .files
        .iter()
        .filter(|f| f.origin == FileOrigin::File)
        .map(|f| f.id)
        .collect();
    let seed_tests = lib
        .program
        .tests
        .iter()
        .filter(|t| seed_files.contains(&t.file))
        .count();
    assert!(seed_tests >= 4, "{seed_tests} tests");
}
