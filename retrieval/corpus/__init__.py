"""What an episode is: its file's front matter and transcript, speakers, guest pages, and the sections cut from it."""
