"""`points-conformance discover`: write a target file from what a server's read operations show.

`command` parses the options and writes the file; `readonly` is the client that can only read;
`inputs` reads the identifiers the user gives; `probe` asks the server about them; `roles`
turns the answers into the target file's roles; `needs` says which requirements stay unchecked
for each role the file leaves out.
"""
