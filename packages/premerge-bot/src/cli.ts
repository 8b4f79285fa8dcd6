console.log('premerge-bot: not built yet');
