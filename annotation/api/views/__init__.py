"""API views, one module per area. Each view parses input, checks project access, calls one
service or selector and serialises the result; errors are turned into JSON once, in
`annotation.api.exceptions`."""
