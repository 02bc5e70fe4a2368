//! Posts and accounts as HTML: the post card every list and thread uses (author,
//! time, content warning in `<details>`, sanitized content, attachments with alt text,
//! poll results, the link preview card, and for the owner the reply, boost, like, bookmark, edit and delete
//! controls), remote account cards, and the small form helpers. Post and bio HTML is
//! the stored HTML (kith's own renderer for local text, the sanitizer for remote); all
//! other strings are escaped by maud. This file reads the database but writes nothing.

use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::account::Account;
use crate::db::actors::RemoteActor;
use crate::db::posts::{self, Attachment, Post};
use crate::error::Result;
use maud::{Markup, PreEscaped, html};

/// What a page renders posts with: the database, who is looking, and where forms return.
pub struct View<'a> {
    pub ctx: &'a Ctx,
    pub conn: &'a Conn,
    pub viewer: Option<&'a Viewer>,
    /// The local account (read once per page).
    pub account: &'a Account,
    /// The local path this page's forms come back to.
    pub back: &'a str,
}

/// Who wrote a post, ready to show.
pub struct Author {
    pub name: String,
    pub acct: String,
    pub href: String,
    pub avatar: String,
    /// The link leaves kith (a visitor looking at a remote account).
    pub external: bool,
}

/// The display name of an account, or its user name when it has none.
pub fn display_name<'s>(name: &'s str, username: &'s str) -> &'s str {
    if name.trim().is_empty() {
        username
    } else {
        name
    }
}

/// A remote image served through kith's media cache; local files as they are.
pub fn media_src(ctx: &Ctx, url: &str) -> String {
    let own = format!("{}/", ctx.config.public_url);
    if let Some(path) = url.strip_prefix(&own) {
        format!("/{path}")
    } else {
        crate::media::cache::proxied(ctx, url)
    }
}

/// The avatar of a remote actor (proxied) or the placeholder.
pub fn actor_avatar(ctx: &Ctx, actor: &RemoteActor) -> String {
    match &actor.avatar_url {
        Some(u) => media_src(ctx, u),
        None => crate::assets::url("avatar.png"),
    }
}

/// The local account's avatar URL (a path on this server).
pub fn own_avatar(ctx: &Ctx, account: &Account) -> String {
    media_src(ctx, &crate::media::avatar_url(ctx, account))
}

/// `<time>` with a readable date in the owner's time zone (`offset_minutes` east of
/// UTC, the Settings choice); `datetime` keeps the exact UTC time for machines.
pub fn when(ms: i64, offset_minutes: i64) -> Markup {
    let iso = crate::dates::iso8601(ms);
    let shown = format!(
        "{} {}",
        crate::dates::local(ms, offset_minutes),
        crate::dates::offset_label(offset_minutes)
    );
    html! { time datetime=(iso) { (shown) } }
}

/// Hidden CSRF and return fields of a form.
pub fn hidden(viewer: &Viewer, back: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(viewer.csrf);
        input type="hidden" name="back" value=(back);
    }
}

/// A one-button form posting to `action`.
pub fn button(viewer: &Viewer, back: &str, action: &str, label: &str, pressed: bool) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (hidden(viewer, back))
            button type="submit" aria-pressed=[pressed.then_some("true")] { (label) }
        }
    }
}

fn visibility_label(v: &str) -> Option<&'static str> {
    match v {
        "unlisted" => Some("Unlisted"),
        "private" => Some("Followers only"),
        "direct" => Some("Mentioned people only"),
        _ => None,
    }
}

impl View<'_> {
    /// Runs `f` with a page's view: one reader connection, the local account read once,
    /// and this request's path as where its forms come back to.
    pub fn read<T>(
        ctx: &Ctx,
        req: &crate::http::Req,
        viewer: Option<&Viewer>,
        f: impl FnOnce(&View) -> Result<T>,
    ) -> Result<T> {
        let back = req.target();
        ctx.db.read(|conn| {
            let account = crate::db::account::get(conn)?;
            f(&View {
                ctx,
                conn,
                viewer,
                account: &account,
                back: &back,
            })
        })
    }

    /// Whether the owner is looking.
    pub fn owner(&self) -> bool {
        self.viewer.is_some()
    }

    /// The author of a post (`None`: the owner).
    pub fn author(&self, actor_id: Option<i64>) -> Result<Author> {
        let config = &self.ctx.config;
        match actor_id {
            None => Ok(Author {
                name: display_name(&self.account.display_name, &self.account.username).into(),
                acct: format!("@{}@{}", self.account.username, config.domain),
                href: format!("/@{}", config.username),
                avatar: own_avatar(self.ctx, self.account),
                external: false,
            }),
            Some(id) => {
                let a = crate::db::actors::get(self.conn, id)?;
                Ok(self.remote_author(&a))
            }
        }
    }

    /// A remote actor as an author.
    pub fn remote_author(&self, a: &RemoteActor) -> Author {
        let (href, external) = if self.owner() {
            (format!("/accounts/{}", a.id), false)
        } else {
            (a.url.clone().unwrap_or_else(|| a.uri.clone()), true)
        };
        Author {
            name: display_name(&a.display_name, &a.username).into(),
            acct: format!("@{}", a.acct()),
            href,
            avatar: actor_avatar(self.ctx, a),
            external,
        }
    }

    /// Where a post's own page is: local posts on the profile, remote ones in the
    /// owner's thread view, or (for visitors) on their own server.
    pub fn post_href(&self, post: &Post) -> String {
        if post.is_local() {
            format!("/@{}/{}", self.ctx.config.username, post.id)
        } else if self.owner() {
            format!("/posts/{}", post.id)
        } else {
            post.url.clone().unwrap_or_else(|| post.uri.clone())
        }
    }

    /// Several posts, or a note that there are none.
    pub fn posts(&self, list: &[Post], empty: &str) -> Result<Markup> {
        self.posts_or(list, html! { p.empty { (empty) } })
    }

    /// Several posts, or `empty` when there are none.
    pub fn posts_or(&self, list: &[Post], empty: Markup) -> Result<Markup> {
        if list.is_empty() {
            return Ok(empty);
        }
        let cards = list
            .iter()
            .map(|p| self.post(p, false))
            .collect::<Result<Vec<_>>>()?;
        Ok(html! { div.posts { @for c in cards { (c) } } })
    }

    /// Who is looking, for `crate::visibility`.
    pub fn looker(&self) -> crate::visibility::Viewer {
        crate::visibility::Viewer::owner_if(self.owner())
    }

    /// One post card; a boost shows the boosted post under a "boosted" line. A post
    /// the viewer may not see (a boost: or its original) renders as nothing.
    pub fn post(&self, post: &Post, focus: bool) -> Result<Markup> {
        if !crate::visibility::may_see(self.conn, &self.looker(), post)? {
            return Ok(html! {});
        }
        if let Some(original_id) = post.reblog_of_id {
            let booster = self.author(post.actor_id)?;
            let Some(original) =
                posts::find(self.conn, original_id)?.filter(|o| o.deleted_at.is_none())
            else {
                return Ok(html! {});
            };
            // The card's id is the boost's own, so a post and its boost on one page
            // never share an id.
            let card = Card {
                focus,
                boost: Some((post.id, &booster)),
                controls: true,
            };
            return self.card(&original, card);
        }
        self.card(post, Card::plain(focus))
    }

    /// A post without the reply, boost, like and other buttons under it: the delete
    /// confirmation shows what is to go and nothing else to click, notifications show
    /// the owner's post they are about. (The caller knows the owner may see it.)
    pub fn post_without_controls(&self, post: &Post) -> Result<Markup> {
        let card = Card {
            controls: false,
            ..Card::plain(false)
        };
        self.card(post, card)
    }

    fn card(&self, post: &Post, card: Card) -> Result<Markup> {
        let Card {
            focus,
            boost,
            controls,
        } = card;
        let id = boost.map_or(post.id, |(boost_id, _)| boost_id);
        let author = self.author(post.actor_id)?;
        let href = self.post_href(post);
        let attachments = posts::list_attachments(self.conn, post.id)?;
        let poll = posts::find_poll(self.conn, post.id)?;
        let link_card = self.link_card(post.id)?;
        let parent = match &post.in_reply_to_uri {
            Some(uri) => Some((uri.clone(), posts::find_by_uri(self.conn, uri)?)),
            None => None,
        };
        let parent_link = match &parent {
            Some((_, Some(p))) => {
                let who = self.author(p.actor_id)?;
                Some((self.post_href(p), who.acct))
            }
            Some((uri, None)) => Some((uri.clone(), "another post".to_string())),
            None => None,
        };
        let content = html! {
            div.content lang=[post.language.as_deref()] { (PreEscaped(&post.content_html)) }
            (self.attachments(&attachments, post.sensitive && post.spoiler_text.is_empty()))
            @if let Some(poll) = &poll { (poll_results(poll)) }
            (link_card)
        };
        let rel = if author.external {
            Some("nofollow noopener noreferrer")
        } else {
            None
        };
        Ok(html! {
            article.post.focus[focus] id=(format!("post-{id}")) {
                @if let Some((_, b)) = boost {
                    p.boosted { (boost_icon()) " " a href=(b.href) { (b.name) } " boosted" }
                }
                header {
                    a.who href=(author.href) rel=[rel] {
                        img.avatar.small src=(author.avatar) alt="" width="48" height="48" loading="lazy";
                        span.names { span.name { (author.name) } " " span.acct { (author.acct) } }
                    }
                    a.when href=(href) { (when(post.published_at, self.account.time_offset_minutes)) }
                    @if let Some(label) = visibility_label(&post.visibility) { span.tag { (label) } }
                    @if post.edited_at.is_some() { span.tag { "Edited" } }
                }
                @if let Some((link, who)) = &parent_link {
                    p.reply-to { "Replying to " a href=(link) { (who) } }
                }
                @if post.spoiler_text.is_empty() {
                    (content)
                } @else {
                    details.cw {
                        summary { span.cw-text { (post.spoiler_text) } " " span.more { "Show content" } }
                        (content)
                    }
                }
                @if controls { (self.footer(post, &href)?) }
            }
        })
    }

    /// The preview card of a post's first link (image, title, site), when it has one.
    fn link_card(&self, post_id: i64) -> Result<Markup> {
        if !self.ctx.config.federation.link_previews {
            return Ok(html! {});
        }
        let Some(card) = crate::db::cards::for_post(self.conn, post_id)? else {
            return Ok(html! {});
        };
        let site = if card.provider_name.is_empty() {
            url::Url::parse(&card.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default()
        } else {
            card.provider_name.clone()
        };
        Ok(html! {
            a.link-card href=(card.url) rel="noopener noreferrer nofollow" {
                @if let Some(image) = &card.image_url {
                    img src=(media_src(self.ctx, image)) alt="" loading="lazy";
                }
                span.link-card-text {
                    span.link-card-site { (site) }
                    strong.link-card-title { (card.title) }
                    @if !card.description.is_empty() {
                        span.link-card-description { (card.description) }
                    }
                }
            }
        })
    }

    fn attachments(&self, list: &[Attachment], sensitive: bool) -> Markup {
        if list.is_empty() {
            return html! {};
        }
        let items = html! {
            div.media {
                @for a in list {
                    @let src = a.remote_url.as_deref().map(|u| media_src(self.ctx, u)).unwrap_or_default();
                    @let kind = crate::media::kind_of(&a.media_type);
                    figure {
                        @match kind {
                            "image" => {
                                a href=(src) {
                                    img src=(src) alt=(a.description) loading="lazy"
                                        width=[a.width] height=[a.height];
                                }
                            }
                            "video" => {
                                video src=(src) controls preload="none" aria-label=(a.description) {}
                            }
                            "audio" => { audio src=(src) controls preload="none" aria-label=(a.description) {} }
                            _ => { a href=(src) { "Attachment" } }
                        }
                        @if !a.description.is_empty() && kind != "image" {
                            figcaption { (a.description) }
                        }
                    }
                }
            }
        };
        if sensitive {
            html! { details.sensitive { summary { "Sensitive media" } (items) } }
        } else {
            items
        }
    }

    fn footer(&self, post: &Post, href: &str) -> Result<Markup> {
        let (replies, boosts, likes) = posts::counts(self.conn, post)?;
        let Some(v) = self.viewer else {
            return Ok(html! {
                footer.stats {
                    span { (count(replies, "reply", "replies")) }
                    span { (count(boosts, "boost", "boosts")) }
                    span { (count(likes, "like", "likes")) }
                    a href=(href) { "Open thread" }
                }
            });
        };
        let (liked, boosted, bookmarked) = posts::owner_flags(self.conn, post.id)?;
        let base = format!("/posts/{}", post.id);
        let boostable = matches!(post.visibility.as_str(), "public" | "unlisted");
        let own = post.is_local();
        Ok(html! {
            footer.actions {
                a.button href=(format!("/compose?in_reply_to={}", post.id)) { "Reply" span.count { (replies) } }
                @if boostable {
                    @if boosted { (button(v, self.back, &format!("{base}/unboost"), &format!("Unboost {boosts}"), true)) }
                    @else { (button(v, self.back, &format!("{base}/boost"), &format!("Boost {boosts}"), false)) }
                }
                @if liked { (button(v, self.back, &format!("{base}/unlike"), &format!("Unlike {likes}"), true)) }
                @else { (button(v, self.back, &format!("{base}/like"), &format!("Like {likes}"), false)) }
                @if bookmarked { (button(v, self.back, &format!("{base}/unbookmark"), "Unbookmark", true)) }
                @else { (button(v, self.back, &format!("{base}/bookmark"), "Bookmark", false)) }
                a.button href=(format!("/posts/{}", post.id)) { "Thread" }
                @if own {
                    a.button href=(format!("{base}/edit")) { "Edit" }
                    a.button.danger href=(format!("{base}/delete")) { "Delete" }
                }
            }
        })
    }

    /// A remote account's header card: header image, avatar, names, bio, fields (all
    /// sanitized at ingest).
    pub fn account_card(&self, a: &RemoteActor) -> Markup {
        let author = self.remote_author(a);
        let fields: Vec<(String, String)> =
            serde_json::from_str::<Vec<serde_json::Value>>(&a.fields_json)
                .unwrap_or_default()
                .iter()
                .map(|f| {
                    (
                        f["name"].as_str().unwrap_or_default().to_string(),
                        f["value_html"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
        let profile = a.url.clone().unwrap_or_else(|| a.uri.clone());
        html! {
            section.account-card.with-banner[a.header_url.is_some()] {
                @if let Some(header) = &a.header_url {
                    img.banner src=(media_src(self.ctx, header)) alt="" width="600" height="200";
                }
                header {
                    img.avatar src=(author.avatar) alt="" width="96" height="96";
                    div {
                        h2 { (author.name) }
                        p.handle { (author.acct) }
                        @if a.locked { p.tag { "Approves followers" } }
                    }
                }
                @if !a.note_html.is_empty() { div.bio { (PreEscaped(&a.note_html)) } }
                @if !fields.is_empty() {
                    dl.fields {
                        @for (name, value) in &fields { dt { (name) } dd { (PreEscaped(value)) } }
                    }
                }
                p { a href=(profile) rel="nofollow noopener noreferrer" { "Open on " (a.domain) } }
            }
        }
    }
}

/// How a card is drawn: focused (the thread's post), as a boost (the boost's id and
/// who boosted), and with or without the owner's buttons.
struct Card<'a> {
    focus: bool,
    boost: Option<(i64, &'a Author)>,
    controls: bool,
}

impl Card<'_> {
    fn plain(focus: bool) -> Self {
        Card {
            focus,
            boost: None,
            controls: true,
        }
    }
}

/// "1 reply", "2 replies", "0 replies".
pub fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The boost mark: two arrows in a loop, drawn inline (no emoji font needed), hidden
/// from screen readers since the words beside it say "boosted".
pub fn boost_icon() -> Markup {
    html! {
        svg.icon width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false" {
            path fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"
                d="M3 7V5.5A1.5 1.5 0 0 1 4.5 4H12M10 2l2 2-2 2M13 9v1.5a1.5 1.5 0 0 1-1.5 1.5H4M6 14l-2-2 2-2" {}
        }
    }
}

fn poll_results(p: &posts::Poll) -> Markup {
    let total: i64 = p.options.iter().map(|(_, n)| n).sum();
    html! {
        ul.poll {
            @for (title, votes) in &p.options {
                li {
                    span.option { (title) }
                    " "
                    span.votes { (count(*votes, "vote", "votes")) }
                    @if total > 0 { meter min="0" max=(total) value=(votes) {} }
                }
            }
        }
    }
}

/// Links to the next (older) page, and back to the newest.
pub fn pager(path: &str, first_page: bool, oldest: Option<i64>, full: bool) -> Markup {
    let sep = if path.contains('?') { '&' } else { '?' };
    html! {
        nav.pager aria-label="Pages" {
            @if !first_page { a href=(path) { "Newest" } }
            @if let (Some(id), true) = (oldest, full) {
                a rel="next" href=(format!("{path}{sep}max_id={id}")) { "Older" }
            }
        }
    }
}
