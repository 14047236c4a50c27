"""What names a value: the structure around a credential-shaped value, read from bytes.

A legacy Nexpay key has no prefix, so it is Nexpay's only when the name it is assigned to,
a key that holds it or the request that uses it names Nexpay (the contract). That is
structure, not distance: `nexpay:` five YAML levels up names a value, `NEXPAY_SECRET=` on
the line above a `SESSION_SECRET=` does not.

Nothing here parses a whole file. Each question walks back from the value over the
structure that encloses it, with a bound, and what costs a pass over the content (brackets,
`[section]` headers, `###` request separators, where a pattern occurs) is worked out once per
content and cached (`outline`), so a file with a million candidates costs a few passes, not
a million. Whatever the bytes, nothing here raises.

The name path of a value, innermost first (`naming`):

- its own name: `NEXPAY_SECRET=`, `"secret": `, `secret: `, `secret="…"` (a keyword
  argument, an XML attribute), `<secret>…` (an XML element), `X-Nexpay-Key: `, `--secret `,
  `ENV NEXPAY_SECRET `, `.netrc`'s `login`/`password`; an auth scheme (`ApiKey`, `Basic`,
  `Bearer`) and a client ID before `:` are looked through;
- a sibling that names a generic `value`/`default` (`{"key": "NEXPAY_SECRET", "value": …}`,
  `- name: NEXPAY_SECRET` / `value: …`, `<add key="NexpaySecret" value="…"/>`);
- the enclosing blocks by indentation (YAML keys, `class NexpayConfig:`), the enclosing
  brackets and what stands before each (`"nexpay": {`, `variable "nexpay_secret" {`,
  `nexpay.Client(`), enclosing XML elements;
- the INI/TOML `[section]` above, the `.netrc` `machine`, a CSV column header, a SQL
  `COPY`/`INSERT` column and table.

The request a value belongs to (`scopes`): its logical line (backslash continuations
joined), the innermost enclosing brackets (a HAR or Postman request object, a `fetch(…)`
call, however long), and the `###` block of an `.http` file (a Bruno `.bru` file is one
request).

The modules, in the order a value is looked at: `tokens` (a piece of a longer token, a
placeholder), `outline` (what one content's structure answers, cached), `own` (the value's
own name), `columns` (CSV and SQL columns), `scopes` (the request it belongs to), `names`
(the whole name path), `spec` (a rule's `structure` table, `Spec`) and `decision` (its
verdict, `unnamed_reason`). This package imports none of them: the hook imports `spec` and
`tokens` at start-up, and the rest only when a candidate needs its structure read.
"""
