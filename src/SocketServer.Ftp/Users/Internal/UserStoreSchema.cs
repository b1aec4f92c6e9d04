namespace SocketServer.Ftp.Internal;

/// <summary>
/// The database's tables, by schema version. <c>PRAGMA user_version</c> holds the version a file has, and
/// <c>PRAGMA application_id</c> marks the file as ours, so another program's database is refused rather than
/// changed. A later version appends a step to <see cref="Steps"/>: opening an older file runs the steps it lacks,
/// in one transaction; a newer file is refused (this code cannot know what it holds).
/// </summary>
internal static class UserStoreSchema
{
    /// <summary>"FTPU": marks the file as an FTP user store (SQLite's header offset 68).</summary>
    public const int ApplicationId = 0x46545055;

    /// <summary>Step n (from 0) takes a file from version n to version n + 1.</summary>
    public static readonly string[] Steps =
    [
        // Version 1.
        // - counters.record_version hands out record versions: each change of a user takes the next one, never
        //   reused, so a user removed and added again does not get a version an old cache entry holds.
        // - users.name compares without ASCII case (login as "Admin" is "admin"; no two users differ by case alone).
        // - password_hash is a PHC string ($pbkdf2-sha256$i=…$salt$hash), never the password.
        // - used_bytes and used_files are the quota's running count, changed by uploads and rebuilt by a scan;
        //   they are not the record, so their changes keep the version (and the password cache) as it is.
        """
        CREATE TABLE counters (
            name  TEXT NOT NULL PRIMARY KEY,
            value INTEGER NOT NULL
        ) STRICT;
        INSERT INTO counters (name, value) VALUES ('record_version', 0);
        CREATE TABLE users (
            name          TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            home          TEXT NOT NULL,
            read_only     INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1)),
            disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
            quota_bytes   INTEGER CHECK (quota_bytes IS NULL OR quota_bytes >= 0),
            quota_files   INTEGER CHECK (quota_files IS NULL OR quota_files >= 0),
            used_bytes    INTEGER NOT NULL DEFAULT 0,
            used_files    INTEGER NOT NULL DEFAULT 0,
            version       INTEGER NOT NULL,
            created_at    TEXT NOT NULL,
            updated_at    TEXT NOT NULL
        ) STRICT;
        """,
    ];

    /// <summary>The version this code writes and reads.</summary>
    public static long Version => Steps.Length;
}
