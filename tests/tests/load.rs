//! Load on the agent's hub: 30 widget conversations × 5 open tabs (150
//! watches) held 150 s against a local server limited to 120 requests a
//! minute, while the site's agent answers each conversation through the
//! worker and another participant answers each answer upstream directly
//! (the scenario: `mochat_tests::load`). Every send is taken, every message
//! reaches every tab in time, and the worker never asks the upstream for
//! more than the agent's limit.

use mochat_tests::faults::{Row, record};
use mochat_tests::load::{self, Load};

#[tokio::test(flavor = "multi_thread")]
async fn thirty_conversations_in_five_tabs_each_stay_live_within_the_agents_budget() {
    let load = Load::default();
    let r = load::run("load", &load).await;
    println!("load: {r:#?}");
    record(&Row {
        case: "load: 30 widget conversations x 5 tabs held 150 s, upstream limit 120/min".into(),
        attempts: r.expected as u64,
        lost: r.expected.saturating_sub(r.delivered) as u64,
        duplicated: r.duplicated as u64,
        note: format!(
            "operator sends {}/{} taken; operator→tabs p99 {:.0} ms, outside→tabs p99 {:.0} ms; \
             upstream: {} requests, busiest minute {}, {} refused; tabs got {} 429s",
            r.operator_created,
            r.operator_sends,
            r.operator_to_tabs.p99,
            r.outside_to_tabs.p99,
            r.upstream_requests,
            r.upstream_busiest_minute,
            r.upstream_429,
            r.tab_429
        ),
        ..Row::default()
    });
    assert_eq!(
        r.operator_created, r.operator_sends,
        "every operator send 201"
    );
    assert_eq!(r.delivered, r.expected, "every message reaches every tab");
    assert_eq!(r.duplicated, 0, "no tab sees a message twice");
    assert!(
        r.operator_to_tabs.p99 <= 1_000.0,
        "operator answer to tabs p99 {:.0} ms",
        r.operator_to_tabs.p99
    );
    assert!(
        r.outside_to_tabs.p99 <= 3_000.0,
        "outside answer to tabs p99 {:.0} ms",
        r.outside_to_tabs.p99
    );
    assert!(
        r.upstream_busiest_minute <= 120,
        "the worker asked the upstream {} times in one minute",
        r.upstream_busiest_minute
    );
    assert_eq!(r.upstream_429, 0, "the upstream refused the worker");
    assert_eq!(r.tab_429, 0, "a tab was refused");
}
