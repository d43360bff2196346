//! Dates and times in the dashboard follow the browser's language and time
//! zone, not a fixed `en-US`: Chromium told (through DevTools) that it is in
//! German in Tokyo shows a message's day in German and its exact time nine
//! hours ahead of UTC.

use mochat_tests::{Browser, Stack};
use serde_json::json;

const GERMAN_MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

#[tokio::test(flavor = "multi_thread")]
async fn days_and_times_are_in_the_browsers_language_and_time_zone() {
    let s = Stack::demo("locale", &[]);
    let sid = s.operator.sessions().await.sessions[0].session_id.clone();
    let sent = s.operator.send(&sid, "Guten Tag aus Tokio").await;
    // `2026-12-03T07:14:43.123Z`: the hour in UTC.
    let utc_hour: u32 = sent.created_at[11..13].parse().expect("an RFC3339 time");

    let b = Browser::start(1280, 800, false).await.expect("Chromium");
    let outcome = async {
        let at = |step: &'static str| move |e: fantoccini::error::CmdError| format!("{step}: {e}");
        b.cdp("Emulation.setLocaleOverride", json!({"locale": "de-DE"}))
            .await
            .map_err(at("German"))?;
        b.cdp(
            "Emulation.setTimezoneOverride",
            json!({"timezoneId": "Asia/Tokyo"}),
        )
        .await
        .map_err(at("Tokyo"))?;
        b.sign_in(&s.browser_origin(), &s.options.password).await?;
        b.click(&format!("[data-testid=session-item][data-id={sid}]"))
            .await
            .map_err(at("open the session"))?;
        b.wait_message("Guten Tag aus Tokio", None)
            .await
            .map_err(at("the message"))?;
        let days = b
            .texts("[data-testid=day]")
            .await
            .map_err(at("day dividers"))?;
        let titles = b
            .attrs(
                &format!(
                    "[data-testid=message][data-id=\"{}\"] time",
                    sent.message_id
                ),
                "title",
            )
            .await
            .map_err(at("the exact time"))?;
        b.screenshot("dashboard-locale-de-tokyo")
            .await
            .map_err(|e| format!("screenshot: {e}"))?;
        Ok::<_, String>((days, titles))
    }
    .await;
    b.close().await;
    let (days, titles) = outcome.unwrap_or_else(|e| panic!("{e}"));

    let newest = days.last().expect("a day divider");
    assert!(
        GERMAN_MONTHS.iter().any(|m| newest.contains(m)) && newest.contains(". "),
        "the day in German (\"Donnerstag, 3. Dezember 2026\"): {days:?}"
    );
    // German: `3.12.2026, 16:14:43`; the hour is Tokyo's (UTC+9, no summer time).
    let title = titles.first().expect("the message's time has a title");
    let hour: u32 = title
        .split(", ")
        .nth(1)
        .and_then(|t| t.split(':').next())
        .and_then(|h| h.trim().parse().ok())
        .unwrap_or_else(|| panic!("a German date and time: {title:?}"));
    assert_eq!(
        hour,
        (utc_hour + 9) % 24,
        "Tokyo's hour: {title:?} for {}",
        sent.created_at
    );
    let date = title.split(", ").next().unwrap_or_default();
    assert_eq!(date.matches('.').count(), 2, "day.month.year: {title:?}");
}
