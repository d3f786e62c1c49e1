//! DDL execution: CREATE/DROP/ALTER of tables, indexes, views and sequences, TRUNCATE. Every
//! change is a catalog write in the statement's transaction.
