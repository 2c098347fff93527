//! Gamma CRM API adapter: the events wire format (lenient parse into PbxEvent) and the requests API client.
