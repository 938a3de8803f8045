using System.Globalization;
using System.Text.RegularExpressions;

namespace Exchange.Api.Tests.Support;

/// <summary>One scrape of an instance's /metrics on its management port (Prometheus text format), read as Prometheus would.</summary>
public sealed partial class Scrape(string text)
{
    public string Text { get; } = text;

    /// <param name="managementUrl">The instance's Exchange:ManagementUrls: the public port answers 404 for /metrics.</param>
    public static async Task<Scrape> FromAsync(string managementUrl)
    {
        // Anonymous on purpose: Prometheus signs in to nothing.
        using var http = new HttpClient { BaseAddress = new Uri(managementUrl) };
        using var response = await http.GetAsync("/metrics");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"/metrics answered {(int)response.StatusCode}: {body}");
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return new Scrape(body);
    }

    /// <summary>The spellings of /metrics a router might pass on; a public port answers 404 to each.</summary>
    public static readonly string[] MetricsSpellings = ["/metrics", "/METRICS", "/metrics/", "/Metrics", "/metrics?format=text"];

    /// <summary>
    /// A public address (an instance's Urls, or the load balancer's): 404 and no metrics for every spelling of
    /// /metrics, and a readiness without its checks' details.
    /// </summary>
    public static async Task AssertNotServedAsync(string publicUrl)
    {
        using var http = new HttpClient { BaseAddress = new Uri(publicUrl) };
        foreach (var path in MetricsSpellings)
        {
            using var response = await http.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == System.Net.HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode} {body[..Math.Min(body.Length, 200)]}");
            Assert.DoesNotContain("# TYPE", body, StringComparison.Ordinal);
        }

        using var ready = await http.GetAsync("/health/ready");
        Assert.DoesNotContain("checks", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>The sum of every series of <paramref name="name"/> whose labels include all of <paramref name="labels"/> ("key=value").</summary>
    public double Sum(string name, params string[] labels)
    {
        var wanted = labels.Select(l => l.Split('=', 2)).Select(p => (Key: p[0], Value: p[1])).ToList();
        var sum = 0.0;
        foreach (var line in Text.Split('\n'))
        {
            var sample = Sample().Match(line.TrimEnd('\r'));
            if (!sample.Success || sample.Groups["name"].Value != name)
            {
                continue;
            }

            var series = Label().Matches(sample.Groups["labels"].Value).ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value);
            if (wanted.All(w => series.TryGetValue(w.Key, out var value) && value == w.Value))
            {
                sum += double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    public override string ToString() => Text;

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>[^\s]+)(\s+-?\d+)?$")]
    private static partial Regex Sample();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();
}
