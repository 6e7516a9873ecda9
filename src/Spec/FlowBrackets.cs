namespace FlatLora.Spec;

/// <summary>
/// Where a YAML text opens a flow collection ('[' or '{') that it never closes, or closes with the other bracket:
/// quoted scalars and comments are skipped. Flow collections may span lines, so only the end of the text or a
/// mismatched bracket decides.
/// </summary>
internal static class FlowBrackets
{
    /// <summary>The innermost bracket left open (1-based line and column), or null when every one is closed.</summary>
    public static (char Open, int Line, int Column)? FirstUnclosed(string text)
    {
        var open = new Stack<(char Open, int Line, int Column)>();
        int line = 1, column = 0;
        char quote = '\0';
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            column++;
            if (c == '\n')
            {
                line++;
                column = 0;
                quote = '\0';   // a quoted scalar does not go on past its line here: an unclosed quote is the parser's to report
                continue;
            }
            if (quote != '\0')
            {
                if (c == quote && !(quote == '"' && i > 0 && text[i - 1] == '\\'))
                    quote = '\0';
                continue;
            }
            switch (c)
            {
                case '\'' or '"' when i == 0 || " \t[{,:".Contains(text[i - 1]):
                    quote = c;
                    break;
                case '#' when i == 0 || char.IsWhiteSpace(text[i - 1]):
                    while (i + 1 < text.Length && text[i + 1] != '\n')
                        i++;
                    break;
                case '[' or '{':
                    open.Push((c, line, column));
                    break;
                case ']' or '}':
                    if (open.Count == 0)
                        break;
                    if (open.Peek().Open == (c == ']' ? '[' : '{'))
                        open.Pop();
                    else
                        return open.Peek();
                    break;
            }
        }
        return open.Count > 0 ? open.Peek() : null;
    }
}
