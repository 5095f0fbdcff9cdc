using System.Security.Cryptography;
using System.Text;

namespace PgHa.Dcs.ZooKeeper.Client;

/// <summary>One ACL entry of a znode: permissions granted to an identity of a scheme.</summary>
/// <param name="Permissions">Bit set: read 1, write 2, create 4, delete 8, admin 16 (all 31).</param>
/// <param name="Scheme"><c>world</c>, <c>digest</c>, <c>auth</c>, <c>ip</c>, <c>x509</c>, …</param>
/// <param name="Id">The identity within the scheme (<c>anyone</c>, <c>user:base64(sha1(user:password))</c>, …).</param>
internal sealed record ZooKeeperAcl(int Permissions, string Scheme, string Id)
{
    public const int All = 31;

    /// <summary>Everyone may do everything (<c>OPEN_ACL_UNSAFE</c>), what Patroni creates znodes with unless <c>set_acls</c> says otherwise.</summary>
    public static IReadOnlyList<ZooKeeperAcl> OpenUnsafe { get; } = [new(All, "world", "anyone")];

    /// <summary>
    /// The <c>digest</c> identity of <paramref name="user"/> with <paramref name="password"/>: the id a server derives from
    /// <c>addauth digest user:password</c>, i.e. <c>user:</c> + base64 of SHA-1 of <c>user:password</c>.
    /// </summary>
    public static ZooKeeperAcl Digest(string user, string password, int permissions = All)
    {
#pragma warning disable CA5350 // SHA-1 is what ZooKeeper's digest scheme is defined with; nothing here chooses it.
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(user + ":" + password));
#pragma warning restore CA5350
        return new ZooKeeperAcl(permissions, "digest", user + ":" + Convert.ToBase64String(hash));
    }
}
