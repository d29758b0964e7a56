// A second, independent feed reader for feedpipe's tests.
// Usage: node parse_feeds.cjs FILE...  → prints a JSON array, one parsed feed per file
// (or {"file": ..., "error": ...} when a file cannot be parsed).
'use strict';
const fs = require('node:fs');
const { parseFeed } = require('@rowanmanning/feed-parser');

const out = process.argv.slice(2).map((file) => {
	try {
		const feed = parseFeed(fs.readFileSync(file, 'utf8'));
		return { file, feed: feed.toJSON() };
	} catch (error) {
		return { file, error: String(error && error.message ? error.message : error) };
	}
});
process.stdout.write(JSON.stringify(out));
