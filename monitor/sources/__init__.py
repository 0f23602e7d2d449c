"""Source kinds: one module each (feed, liveblog, html, jsonfeed), one small interface (`base.SourceKind`)."""
