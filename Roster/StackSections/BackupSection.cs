namespace Workstation.Roster;

/// <summary>The backup section: restic backups of /home (off unless backupRepository is set) and where a purge archives a home.</summary>
public static class BackupSection
{
    // The keys, a line a concern: the repository and its password, the retention, the schedule, the purge archive.
    public const string BackupRepository = "backupRepository", BackupPassword = "backupPassword";
    public const string BackupKeepDaily = "backupKeepDaily", BackupKeepWeekly = "backupKeepWeekly", BackupKeepMonthly = "backupKeepMonthly";
    public const string BackupOnCalendar = "backupOnCalendar";
    public const string PurgeArchiveDir = "purgeArchiveDir";

    public static readonly IReadOnlyList<string> Keys =
        [BackupRepository, BackupPassword, BackupKeepDaily, BackupKeepWeekly, BackupKeepMonthly, BackupOnCalendar, PurgeArchiveDir];

    public const string DefaultPurgeArchiveDir = "/var/backups/workstation/homes";
    public const int MaxKeep = 9999;
    public static readonly BackupSettings DefaultBackup = new("", 7, 4, 6, "daily");

    /// <param name="Backup">restic backups of /home; null: none (backupRepository unset). Its password (a secret) is then set.</param>
    /// <param name="PurgeArchiveDir">Where a purge archives a home on the devvm (root's, 0700).</param>
    public sealed record Values(BackupSettings? Backup, string PurgeArchiveDir);

    public static Section<Values> Read(Func<string, string?> get)
    {
        var c = new SectionConfig(Keys, get);
        var backup = Backup(c);
        var purgeArchiveDir = c.Word(PurgeArchiveDir, Rules.HostPath(), "an absolute path on the devvm (no component starting with a dot)")
            ?? DefaultPurgeArchiveDir;
        return c.Result(new Values(backup, purgeArchiveDir));
    }

    // Off unless backupRepository is set; then the password is required, as a secret.
    private static BackupSettings? Backup(SectionConfig c)
    {
        var repository = c.Word(BackupRepository, Rules.ResticRepository(),
            "a restic repository: an absolute path or a restic URL (sftp:, rest:, s3:, b2:, azure:, gs:, rclone:)");
        int Keep(string key, int fallback) =>
            c.Get(key) is { Length: > 0 } text ? c.Number(key, text, 0, MaxKeep, $"a count (0-{MaxKeep})") ?? fallback : fallback;
        var d = DefaultBackup;
        var settings = new BackupSettings(repository ?? "", Keep(BackupKeepDaily, d.KeepDaily), Keep(BackupKeepWeekly, d.KeepWeekly),
            Keep(BackupKeepMonthly, d.KeepMonthly),
            c.Word(BackupOnCalendar, Rules.OnCalendar(), "a systemd calendar expression (e.g. daily, *-*-* 03:00:00)") ?? d.OnCalendar);
        if (settings.KeepDaily + settings.KeepWeekly + settings.KeepMonthly == 0)
            c.Add(BackupKeepDaily, "a retention that keeps nothing: set backupKeepDaily, backupKeepWeekly or backupKeepMonthly above 0");
        if (repository is null) return null;
        c.NoCredentials(BackupRepository, repository);
        if (!c.IsSet(BackupPassword))
            c.Add(BackupPassword,
                $"required with {SectionConfig.Full(BackupRepository)}: the restic repository password, as a secret: `pulumi config set --secret {BackupPassword} ...`");
        return settings;
    }
}
