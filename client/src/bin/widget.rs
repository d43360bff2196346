//! Entry point of the chat widget (the page the loader frames): panic hook,
//! then mount the widget on `<body>`.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(mochat_client::WidgetApp);
}
