//! nginx configuration: a lexer and parser faithful to nginx's own
//! `ngx_conf_read_token`, include resolution with globs and cycle detection,
//! and a semantic model with the effective value of every directive at each
//! location.
