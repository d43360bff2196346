//! A list of messages: day separators, authors with avatar and agent/person
//! badge, content as safe text with links and mentions, relative timestamps
//! (exact on hover). `role="log"` with `aria-live="polite"`.

use leptos::prelude::*;
use mochat_api::widget::VisitorMark;
use mochat_api::{Message, User, UserType};

use crate::browser;
use crate::markup::{Piece, pieces, relative};
use crate::widgets::{Avatar, KindBadge};

/// Who reads the list, when it is a widget visitor (their id): their own
/// messages are drawn as theirs. Provided as context by the widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer(pub String);

/// A row of the list: a day separator or a message.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    Day(String),
    Message(Box<Message>),
}

impl Row {
    fn key(&self) -> String {
        match self {
            Self::Day(label) => format!("day:{label}"),
            Self::Message(m) => m.message_id.clone(),
        }
    }
}

fn rows(messages: &[Message]) -> Vec<Row> {
    let mut out = Vec::with_capacity(messages.len() + 4);
    let mut last_day = String::new();
    for m in messages {
        let day = browser::day_label(&m.created_at);
        if day != last_day {
            out.push(Row::Day(day.clone()));
            last_day = day;
        }
        out.push(Row::Message(Box::new(m.clone())));
    }
    out
}

/// The messages of a conversation, oldest first.
#[component]
pub fn MessageList(#[prop(into)] messages: Signal<Option<Vec<Message>>>) -> impl IntoView {
    view! {
        <div role="log" aria-live="polite" aria-label="Messages" data-testid="messages">
            <ol class="message-list">
                <For
                    each=move || messages.with(|m| rows(m.as_deref().unwrap_or_default()))
                    key=Row::key
                    children=|row| match row {
                        Row::Day(label) => view! { <li class="day" data-testid="day"><span>{label}</span></li> }.into_any(),
                        Row::Message(m) => view! { <MessageItem message=*m /> }.into_any(),
                    }
                />
            </ol>
        </div>
    }
}

/// Who wrote `message` as people see it: the visitor the worker marked it
/// for, else its author.
pub fn author_name(message: &Message) -> String {
    VisitorMark::from_meta(&message.meta)
        .map_or_else(|| message.author_info.name.clone(), |v| v.name)
}

/// One message.
#[component]
pub fn MessageItem(message: Message) -> impl IntoView {
    let when = relative(browser::now_ms(), browser::parse_time(&message.created_at));
    let exact = browser::exact_time(&message.created_at);
    let visitor = VisitorMark::from_meta(&message.meta);
    let mine = match (&visitor, use_context::<Viewer>()) {
        (Some(mark), Some(Viewer(me))) => mark.id == me,
        _ => false,
    };
    let author = author_name(&message);
    let face = match &visitor {
        Some(v) => User {
            kind: UserType::User,
            name: v.name.clone(),
            avatar: None,
            ..message.author_info.clone()
        },
        None => message.author_info.clone(),
    };
    let from_site = visitor.as_ref().map(|v| {
        let site = if v.title.is_empty() {
            &v.site
        } else {
            &v.title
        };
        format!("visitor · {site}")
    });
    let body = pieces(&message.content)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => view! { <span>{t}</span> }.into_any(),
            Piece::Mention(m) => view! { <span class="mention">{m}</span> }.into_any(),
            Piece::Link(url) => {
                let label = url.clone();
                view! { <a href=url target="_blank" rel="noopener noreferrer">{label}</a> }
            }
            .into_any(),
        })
        .collect_view();
    view! {
        <li class="message" class:mine=mine data-testid="message" data-id=message.message_id.clone()>
            <Avatar user=face />
            <div class="bubble">
                <div class="meta">
                    <span class="author" data-testid="author">{author}</span>
                    {match from_site {
                        Some(label) => view! { <span class="badge visitor" data-testid="visitor-badge">{label}</span> }.into_any(),
                        None => view! { <KindBadge kind=message.author_info.kind /> }.into_any(),
                    }}
                    <time datetime=message.created_at.clone() title=exact>{when}</time>
                </div>
                <p class="msg-text" data-testid="content">{body}</p>
            </div>
        </li>
    }
}
