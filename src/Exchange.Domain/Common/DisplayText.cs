namespace Exchange.Domain.Common;

/// <summary>
/// Text a member chose (the name VivoKey passes on) made safe to show: control characters and the
/// bidirectional overrides, embeddings, isolates and marks are removed, so a name cannot reorder what
/// is shown around it (U+202E turns "Trader txt.exe" into a look-alike) or smuggle line breaks.
/// </summary>
public static class DisplayText
{
    public const int MaxNameLength = 255;

    public static string Clean(string? text, int maxLength = MaxNameLength)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var kept = new System.Text.StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (!IsRemoved(c))
            {
                kept.Append(c);
            }
        }

        var clean = kept.ToString().Trim();
        if (clean.Length <= maxLength)
        {
            return clean;
        }

        // Never cut a surrogate pair in half.
        var end = char.IsHighSurrogate(clean[maxLength - 1]) ? maxLength - 1 : maxLength;
        return clean[..end].TrimEnd();
    }

    /// <summary>C0 and C1 controls, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI, LRM/RLM and the Arabic letter mark.</summary>
    public static bool IsRemoved(char c) =>
        char.IsControl(c) || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' or '\u200E' or '\u200F' or '\u061C';
}
