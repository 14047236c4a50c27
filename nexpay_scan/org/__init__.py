"""`nexpay-scan org`: the history audit of every repository of an organization.

An organization source lists repositories (`inventory`), keeps a bare mirror of each
(`mirrors`), scans each mirror with the history source as `history --repo MIRROR` does
(`task`), on a local pool or a Dask cluster (`runner`), journals each finished repository
so that a re-run resumes (`journal`), and merges the results into one report (`merge`).
"""
