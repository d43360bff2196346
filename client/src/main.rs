//! Entry point of the dashboard: panic hook, then mount the app on `<body>`.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(mochat_client::App);
}
