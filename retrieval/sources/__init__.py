"""Where the site's episode and guest pages come from: GitHub's archive (or a local one), unpacked
safely and synced into place."""
